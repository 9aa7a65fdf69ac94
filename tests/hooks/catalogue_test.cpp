#define CAF_SUITE hooks.catalogue

// docs/hooks.md against the catalogue (actors/hooks/catalogue.hpp): every
// hook has one row in the doc's catalogue table with its name, its kind,
// its request struct and its answer type, and the table has no row for a
// hook that does not exist; so the two cannot drift apart. Also the hook
// ids and names of the catalogue itself.

#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "hooks/catalogue.hpp"

using namespace dja;

namespace {

// --- the name of an answer type as docs/hooks.md writes it ---------------

template <class T>
struct type_name;

#define DJA_TYPE_NAME(type, text)                                              \
  template <>                                                                  \
  struct type_name<type> {                                                     \
    static std::string get() { return text; }                                  \
  };

DJA_TYPE_NAME(bool, "bool")
DJA_TYPE_NAME(std::string, "string")
DJA_TYPE_NAME(xml::element_ptr, "element_ptr")
DJA_TYPE_NAME(hooks::scram_credentials, "scram_credentials")
DJA_TYPE_NAME(hooks::account_result, "account_result")
DJA_TYPE_NAME(hooks::filter_verdict, "filter_verdict")
DJA_TYPE_NAME(hooks::delivery_verdict, "delivery_verdict")
DJA_TYPE_NAME(hooks::offline_message, "offline_message")
DJA_TYPE_NAME(hooks::roster, "roster")
DJA_TYPE_NAME(hooks::roster_item, "roster_item")

template <class T>
struct type_name<std::vector<T>> {
  static std::string get() { return "vector<" + type_name<T>::get() + ">"; }
};

template <class T>
struct type_name<hooks::answer<T>> {
  static std::string get() { return "answer<" + type_name<T>::get() + ">"; }
};

const char* kind_text(hooks::hook_kind k) {
  switch (k) {
    case hooks::hook_kind::first:
      return "first";
    case hooks::hook_kind::fold:
      return "fold";
    case hooks::hook_kind::notify:
      return "notify";
  }
  return "?";
}

/// What the catalogue says about one hook, as the doc should show it.
struct expected_row {
  std::string name;
  std::string kind;
  std::string request; ///< the struct's name
  std::string answer;  ///< "answer<...>", or "—" for a notification
};

template <class Hook>
std::string answer_of() {
  if constexpr (Hook::kind == hooks::hook_kind::notify)
    return "—";
  else
    return type_name<typename Hook::answer_type>::get();
}

std::vector<expected_row> catalogue() {
  std::vector<expected_row> res;
#define DJA_HOOK_ROW(h)                                                        \
  res.push_back({hooks::h::name, kind_text(hooks::h::kind), #h,                \
                 answer_of<hooks::h>()});
  DJA_HOOK_LIST(DJA_HOOK_ROW)
#undef DJA_HOOK_ROW
  return res;
}

// --- the doc's table ------------------------------------------------------

struct doc_row {
  int line = 0;
  std::vector<std::string> cells;
};

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(' ');
  auto e = s.find_last_not_of(' ');
  return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
}

/// The first `code` span of a cell, or "" when it has none.
std::string first_code(const std::string& cell) {
  auto b = cell.find('`');
  auto e = b == std::string::npos ? b : cell.find('`', b + 1);
  return e == std::string::npos ? std::string{} : cell.substr(b + 1, e - b - 1);
}

/// The rows of the table under "## The catalogue" (header and rule
/// skipped).
std::vector<doc_row> doc_table(const std::string& path) {
  std::ifstream in{path};
  CAF_REQUIRE(in.good());
  std::vector<doc_row> res;
  std::string line;
  bool in_section = false;
  int n = 0;
  int seen = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.rfind("## ", 0) == 0) {
      in_section = line == "## The catalogue";
      continue;
    }
    if (!in_section || line.rfind("|", 0) != 0)
      continue;
    if (++seen <= 2)
      continue; // header, rule
    doc_row row{n, {}};
    std::stringstream cells{line.substr(1)};
    std::string cell;
    while (std::getline(cells, cell, '|'))
      row.cells.push_back(trim(cell));
    res.push_back(std::move(row));
  }
  return res;
}

} // namespace

CAF_TEST(hook ids names and kinds come from the one list) {
  CAF_CHECK_EQUAL(hooks::count, catalogue().size());
  auto id = hooks::id<hooks::roster_get>;
  CAF_CHECK_EQUAL(hooks::name_of(id), std::string{"roster.get"});
  CAF_CHECK(hooks::find("roster.get") == id);
  CAF_CHECK(!hooks::find("roster.gett"));
  CAF_CHECK(hooks::kind_of(hooks::id<hooks::filter_stanza>)
            == hooks::hook_kind::fold);
  CAF_CHECK(hooks::kind_of(hooks::id<hooks::session_bound>)
            == hooks::hook_kind::notify);
  for (size_t i = 0; i < hooks::count; ++i) {
    hooks::hook_id h{static_cast<uint8_t>(i)};
    CAF_CHECK(hooks::find(hooks::name_of(h)) == h);
  }
}

CAF_TEST(docs hooks md lists every hook with its kind and answer type) {
  auto path = std::string{DJA_SOURCE_DIR} + "/docs/hooks.md";
  auto rows = doc_table(path);
  CAF_REQUIRE(!rows.empty());
  std::map<std::string, doc_row> by_name;
  for (auto& r : rows) {
    auto name = r.cells.empty() ? std::string{} : first_code(r.cells[0]);
    if (name.empty())
      continue; // "disco features": declared, not a hook
    if (!hooks::find(name))
      CAF_FAIL("docs/hooks.md:" << r.line << ": `" << name
                                << "` is not a hook of the catalogue");
    if (!by_name.emplace(name, r).second)
      CAF_FAIL("docs/hooks.md:" << r.line << ": `" << name
                                << "` has a second row");
  }
  for (auto& want : catalogue()) {
    auto i = by_name.find(want.name);
    if (i == by_name.end()) {
      CAF_FAIL("docs/hooks.md: no row for hook `" << want.name << "`");
      continue;
    }
    auto& r = i->second;
    CAF_REQUIRE(r.cells.size() >= 4);
    auto at = "docs/hooks.md:" + std::to_string(r.line) + ": " + want.name;
    CAF_MESSAGE(at);
    CAF_CHECK_EQUAL(r.cells[1], want.kind);
    auto request = first_code(r.cells[2]);
    CAF_CHECK_EQUAL(request.substr(0, request.find('{')), want.request);
    if (want.answer == "—")
      CAF_CHECK_EQUAL(r.cells[3], want.answer);
    else
      CAF_CHECK_EQUAL(first_code(r.cells[3]), want.answer);
  }
}
