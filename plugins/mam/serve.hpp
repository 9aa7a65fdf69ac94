#pragma once

// What mam.memory, mam.sqlite and mam.pgsql share: XEP-0313 Message
// Archive Management for user archives over a backend that keeps rows.
// The feature actor (serve.cpp) takes `archive.store` notifications from
// the router, applies the user's preferences, and writes them in
// batches (one transaction every `batch_ms` or `batch_max` rows, off the
// delivery path); answers `archive.query` (queries with XEP-0059 paging,
// the form, metadata, preferences: plugins/mam/common/query.hpp); and
// prunes by `max_age` and `max_messages` every `prune_interval_s`.
// Each backend only appends, selects, counts and deletes rows.

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "hooks/plugin.hpp"

namespace dja::plugins::mam {

/// One archived message of one user's archive.
struct row {
  int64_t seq = 0;          ///< archive order, assigned by the backend
  std::string user;         ///< the archive: local part of its owner
  std::string id;           ///< XEP-0359 stanza-id, unique per archive
  int64_t stamp_us = 0;     ///< when it was routed (unix time, µs)
  std::string with_bare;    ///< the other party, bare
  std::string with_resource; ///< ... and its resource ("" if none)
  bool outgoing = false;    ///< the owner sent it
  std::string stanza;       ///< serialized by xml::to_string()
};

/// Which rows of an archive a query selects (XEP-0313 §4.1); bounds on
/// `seq` are exclusive.
struct filter {
  std::string with_bare;                    ///< "" = anyone
  std::optional<std::string> with_resource; ///< set: a full JID
  int64_t start_us = std::numeric_limits<int64_t>::min();
  int64_t end_us = std::numeric_limits<int64_t>::max();
  int64_t after_seq = 0;
  int64_t before_seq = std::numeric_limits<int64_t>::max();
  std::vector<std::string> ids; ///< not empty: only these
};

/// Where the archives of one vhost are kept, per local part.
class backend {
public:
  virtual ~backend() = default;

  /// Opens or connects (and migrates), once at start-up on the actor's
  /// own thread; an error is logged and later calls try again.
  virtual caf::error start() = 0;

  /// Whether the calls block (the actor must then be detached).
  virtual bool blocking() const = 0;

  /// Appends the `n` rows at `rows` (their seq is assigned here) in one
  /// transaction; a row whose (user, id) is stored already is skipped.
  virtual caf::error append(const row* rows, size_t n) = 0;

  /// The seq of the row `id` of `user`'s archive, if there is one.
  virtual caf::expected<std::optional<int64_t>>
  seq_of(const std::string& user, const std::string& id) = 0;

  /// At most `limit` rows of `user` matching `f`, in seq order
  /// (`backward`: from the newest), skipping `offset` first.
  virtual caf::expected<std::vector<row>>
  select(const std::string& user, const filter& f, int64_t limit,
         bool backward, int64_t offset)
    = 0;

  /// How many rows of `user` match `f`.
  virtual caf::expected<int64_t> count(const std::string& user,
                                       const filter& f)
    = 0;

  /// The stored preferences of `user` (XEP-0313 §6, serialized <prefs/>).
  virtual caf::expected<std::optional<std::string>>
  get_prefs(const std::string& user) = 0;
  virtual caf::error set_prefs(const std::string& user,
                               const std::string& prefs)
    = 0;

  /// Removes rows older than `before_us` (min: none) and, per user, all
  /// but the newest `max_per_user` (0: no quota). How many went.
  virtual caf::expected<int64_t> prune(int64_t before_us,
                                       int64_t max_per_user)
    = 0;
};

/// The plugin type `name`: the options `store_options` of its backend,
/// then the archive's own; its actor serves archive.store and
/// archive.query over the backend `open` makes.
plugin_type
make_type(const char* name, std::string summary,
          std::vector<option_spec> store_options,
          std::function<std::shared_ptr<backend>(const spawn_context&)> open);

} // namespace dja::plugins::mam
