// placeholder
#include "plugins/sql/driver.hpp"
#include <caf/sec.hpp>
namespace dja::plugins::sql {
std::unique_ptr<connection> open_pgsql(const connection_settings&) { return nullptr; }
std::unique_ptr<connection> open_mariadb(const connection_settings&) { return nullptr; }
}
