// The side table of context_extras.hpp.

#include "common/context_extras.hpp"

#include <mutex>
#include <unordered_map>

namespace dja {

namespace {

std::mutex mtx;

std::unordered_map<const server_context*,
                   std::shared_ptr<const context_extras>>&
table() {
  static std::unordered_map<const server_context*,
                            std::shared_ptr<const context_extras>>
    t;
  return t;
}

} // namespace

std::shared_ptr<const context_extras> extras_of(const server_context& ctx) {
  static const auto none = std::make_shared<const context_extras>();
  std::lock_guard<std::mutex> guard{mtx};
  auto i = table().find(&ctx);
  return i == table().end() ? none : i->second;
}

void install_extras(const server_context& ctx,
                    std::shared_ptr<const context_extras> extras) {
  std::lock_guard<std::mutex> guard{mtx};
  table()[&ctx] = std::move(extras);
}

void remove_extras(const server_context& ctx) {
  std::lock_guard<std::mutex> guard{mtx};
  table().erase(&ctx);
}

} // namespace dja
