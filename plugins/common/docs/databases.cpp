// docs::sqlite_store() and docs::pgsql_store(): the interface of
// plugins/common/docs/store.hpp over the SQLite and PostgreSQL document
// tables (plugins/common/sqlite/doc_store.hpp,
// plugins/common/pgsql/doc_store.hpp), each bound to one vhost.

#include <ctime>
#include <filesystem>

#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

#include "common/stored_xml.hpp"

#include "plugins/common/docs/store.hpp"
#include "plugins/common/pgsql/doc_store.hpp"
#include "plugins/common/pgsql/options.hpp"
#include "plugins/common/sqlite/doc_store.hpp"

namespace dja::plugins::docs {

namespace {

/// The SQLite file, opened at start() or on first use (and again after a
/// failed open).
class sqlite_docs : public store {
public:
  sqlite_docs(std::string tag, std::string domain, std::string path,
              std::string table)
    : tag_(std::move(tag)), domain_(std::move(domain)),
      path_(std::move(path)), table_(std::move(table)) {
    // nop
  }

  caf::error start() override {
    auto db = open();
    return db ? caf::error{} : db.error();
  }

  bool blocking() const override {
    return true;
  }

  caf::expected<doc> get(const std::string& user,
                         const std::string& key) override {
    auto db = open();
    if (!db)
      return db.error();
    return (*db)->get(domain_, user, key);
  }

  caf::error put(const std::string& user, const doc_list& docs,
                 int64_t updated) override {
    auto db = open();
    return db ? (*db)->put(domain_, user, docs, updated) : db.error();
  }

  caf::error remove(const std::string& user,
                    const std::string& key) override {
    auto db = open();
    return db ? (*db)->remove(domain_, user, key) : db.error();
  }

  caf::expected<std::map<std::string, int64_t>>
  sizes(const std::string& user) override {
    auto db = open();
    if (!db)
      return db.error();
    return (*db)->sizes(domain_, user);
  }

private:
  caf::expected<sqlite::doc_store*> open() {
    if (db_)
      return db_.get();
    auto st = sqlite::doc_store::open(path_, table_);
    if (!st)
      return st.error();
    db_ = std::move(*st);
    spdlog::debug("{}: vhost {}: using {}", tag_, domain_, path_);
    return db_.get();
  }

  std::string tag_;
  std::string domain_;
  std::string path_;
  std::string table_;
  std::unique_ptr<sqlite::doc_store> db_;
};

/// The PostgreSQL table; the connection reconnects by itself (each call
/// fails while the database is down).
class pgsql_docs : public store {
public:
  pgsql_docs(std::string domain, pgsql::settings cfg,
             const std::string& table)
    : domain_(std::move(domain)), db_(std::move(cfg), table) {
    // nop
  }

  caf::error start() override {
    return db_.connect();
  }

  bool blocking() const override {
    return true;
  }

  caf::expected<doc> get(const std::string& user,
                         const std::string& key) override {
    return db_.get(domain_, user, key);
  }

  caf::error put(const std::string& user, const doc_list& docs,
                 int64_t updated) override {
    return db_.put(domain_, user, docs, updated);
  }

  caf::error remove(const std::string& user,
                    const std::string& key) override {
    return db_.remove(domain_, user, key);
  }

  caf::expected<std::map<std::string, int64_t>>
  sizes(const std::string& user) override {
    return db_.sizes(domain_, user);
  }

private:
  std::string domain_;
  pgsql::doc_store db_;
};

} // namespace

std::shared_ptr<store> sqlite_store(const spawn_context& ctx,
                                    const char* tag,
                                    const std::string& default_file,
                                    const std::string& table) {
  auto file = ctx.options["file"].value_or(default_file);
  auto path = (std::filesystem::path{ctx.data_dir} / file).string();
  return std::make_shared<sqlite_docs>(tag, ctx.domain, path, table);
}

std::shared_ptr<store> pgsql_store(const spawn_context& ctx,
                                   const char* tag,
                                   const std::string& table) {
  return std::make_shared<pgsql_docs>(ctx.domain,
                                      pgsql::settings_of(ctx, tag), table);
}

std::vector<option_spec> sqlite_options(const std::string& default_file,
                                        std::vector<option_spec> own) {
  std::vector<option_spec> res{
    {"file", option_type::string, false,
     "database file, relative to server.data_dir (default \"" + default_file
       + "\")"}};
  for (auto& o : own)
    res.push_back(std::move(o));
  return res;
}

int64_t unix_now() {
  return static_cast<int64_t>(std::time(nullptr));
}

void start(store& st, const std::string& tag, const std::string& domain) {
  if (auto err = st.start())
    spdlog::error("{}: vhost {}: every request fails until the store can "
                  "be used: {}",
                  tag, domain, caf::to_string(err));
}

caf::error failed(const std::string& tag, const std::string& domain,
                  const char* op, const caf::error& err) {
  spdlog::error("{}: vhost {}: {}: {}", tag, domain, op, caf::to_string(err));
  return caf::make_error(caf::sec::runtime_error,
                         tag + ": " + op + " failed");
}

caf::expected<xml::element_ptr> parsed(const caf::expected<doc>& d,
                                       const std::string& tag,
                                       const std::string& domain,
                                       const char* op,
                                       const std::string& user) {
  if (!d)
    return failed(tag, domain, op, d.error());
  if (!d->found)
    return xml::element_ptr{};
  if (auto e = xml::parse_stored(d->value))
    return e;
  return failed(tag, domain, op,
                caf::make_error(caf::sec::runtime_error,
                                "stored data of " + user
                                  + " does not parse"));
}

} // namespace dja::plugins::docs
