#pragma once

// An SQLite database opened on first use, and again on the next call after
// a failed open (a data_dir that is not there yet, a file that was locked),
// so a store plugin starts, logs once, and fails each request with an
// error until the file can be opened. Used by the store of one detached
// plugin actor: no locking.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <spdlog/spdlog.h>

#include "plugins/common/sqlite/database.hpp"

namespace dja::plugins::sqlite {

class lazy_database {
public:
  /// `steps`: the migrations (database::open); `tag`: for the log.
  lazy_database(std::string path, std::vector<std::string> steps,
                std::string tag)
    : path_(std::move(path)), steps_(std::move(steps)),
      tag_(std::move(tag)) {
    if (!get())
      spdlog::error("{}: every request fails until {} can be opened", tag_,
                    path_);
  }

  /// The open database, or why it cannot be opened.
  caf::expected<database*> get() {
    if (db_)
      return db_.get();
    auto db = database::open(path_, steps_);
    if (!db)
      return db.error();
    db_ = std::move(*db);
    spdlog::debug("{}: using {}", tag_, path_);
    return db_.get();
  }

private:
  std::string path_;
  std::vector<std::string> steps_;
  std::string tag_;
  std::unique_ptr<database> db_;
};

} // namespace dja::plugins::sqlite
