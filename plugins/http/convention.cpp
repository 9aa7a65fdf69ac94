// The meaning of the service's answers (plugins/http/convention.hpp).

#include "plugins/http/convention.hpp"

#include <algorithm>

#include <caf/sec.hpp>
#include <nlohmann/json.hpp>

#include "common/crypto.hpp"

namespace dja::plugins::http {

namespace {

caf::error fail(std::string what) {
  return caf::make_error(caf::sec::runtime_error, std::move(what));
}

/// The body without surrounding white space ("true\n" is "true").
std::string trimmed(const std::string& s) {
  auto ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string::npos)
    return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

caf::error transport_or_status(const response& r) {
  if (!r.error.empty())
    return fail(r.error);
  return fail("unexpected HTTP status " + std::to_string(r.status));
}

} // namespace

std::string auth_params(const std::string& user, const std::string& server,
                        const std::string* pass) {
  auto out = "user=" + url_encode(user) + "&server=" + url_encode(server);
  if (pass != nullptr)
    out += "&pass=" + url_encode(*pass);
  return out;
}

caf::expected<hooks::answer<bool>> boolean_answer(const response& r) {
  using A = hooks::answer<bool>;
  if (!r.error.empty())
    return transport_or_status(r);
  if (r.status == 501)
    return A::decline();
  if (r.status != 200)
    return transport_or_status(r);
  auto b = trimmed(r.body);
  if (b == "true")
    return A::handled(true);
  if (b == "false")
    return A::handled(false);
  // Never guess: a proxy's error page or an empty 200 is not "true".
  return fail("a body that is neither true nor false ("
              + std::to_string(r.body.size()) + " bytes)");
}

caf::expected<hooks::answer<hooks::account_result>>
account_answer(const response& r) {
  using A = hooks::answer<hooks::account_result>;
  using R = hooks::account_result;
  if (!r.error.empty())
    return transport_or_status(r);
  switch (r.status) {
    case 200:
    case 201:
    case 204:
      return A::handled(R::done);
    case 403:
      return A::handled(R::not_allowed);
    case 404:
      return A::handled(R::not_found);
    case 409:
      return A::handled(R::conflict);
    case 501:
      return A::decline();
    default:
      return transport_or_status(r);
  }
}

caf::expected<roster> parse_roster(const std::string& body,
                                   const std::string& domain,
                                   size_t& skipped) {
  skipped = 0;
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return fail("the roster is not a JSON object");
  roster out;
  for (auto& [key, v] : doc.items()) {
    auto contact = key.find('@') == std::string::npos ? key + "@" + domain
                                                      : key;
    auto j = jid::parse(contact);
    if (!j || !v.is_object() || j->local().empty()) {
      ++skipped;
      continue;
    }
    roster_item it;
    it.contact = j->bare();
    if (auto n = v.find("name"); n != v.end() && n->is_string())
      it.name = n->get<std::string>();
    if (auto g = v.find("groups"); g != v.end() && g->is_array())
      for (auto& x : *g)
        if (x.is_string())
          it.groups.push_back(x.get<std::string>());
    it.subscription = "both"; // mod_http_roster_admin's default
    if (auto s = v.find("subscription"); s != v.end() && s->is_string()) {
      auto sub = s->get<std::string>();
      if (sub == "none" || sub == "to" || sub == "from" || sub == "both")
        it.subscription = sub;
      else
        ++skipped; // kept, with the default
    }
    out.items.push_back(std::move(it));
  }
  // The version is the content's: a refresh pushes only when it changed.
  auto d = crypto::digest(crypto::hash_fn::sha256, doc.dump());
  static const char* hex = "0123456789abcdef";
  for (size_t i = 0; i < 8; ++i) {
    out.version += hex[(static_cast<unsigned char>(d[i]) >> 4) & 0xf];
    out.version += hex[static_cast<unsigned char>(d[i]) & 0xf];
  }
  return out;
}

} // namespace dja::plugins::http
