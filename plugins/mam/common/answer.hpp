#pragma once

// archive.query over a backend (plugins/mam/serve.hpp): XEP-0313 §4
// queries with XEP-0059 paging, the query form, §5 metadata and §6
// preferences. The stanzas answered go to the client in order.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/expected.hpp>

#include "hooks/catalogue.hpp"
#include "plugins/mam/common/query.hpp"
#include "plugins/mam/serve.hpp"

namespace dja::plugins::mam {

/// The paging bounds of the `default_page` / `max_page` options.
struct paging {
  int64_t default_page = 50; ///< results without <max/>
  int64_t max_page = 250;    ///< a larger <max/> is cut to this
};

/// The users' preferences, read through from the backend and cached
/// (bounded); `def` for users who never set any.
class prefs_cache {
public:
  prefs_cache(backend& db, std::string def) : db_(db), def_(std::move(def)) {
    // nop
  }
  caf::expected<prefs> get(const std::string& user);
  caf::error set(const std::string& user, const prefs& p);

private:
  static constexpr size_t max_cached = 10000;
  backend& db_;
  std::string def_;
  std::unordered_map<std::string, prefs> cache_;
};

/// The answer to one archive iq (r.to is the user's own bare JID of this
/// vhost): results then the reply, or an error (a backend failure).
caf::expected<std::vector<xml::element_ptr>>
answer(backend& db, prefs_cache& prefs, const paging& pg,
       const hooks::archive_query& r);

} // namespace dja::plugins::mam
