// register: XEP-0077 In-Band Registration.
//
//  - An authenticated user (iq_request.from set) asks for their own
//    registration (get), changes their password (set username+password,
//    if allow_password_change) or removes their account (set <remove/>).
//  - An unauthenticated stream (iq_request.from empty, `to` the domain;
//    forwarded by the connection when the vhost offers the
//    iq-register stream feature) creates an account (set
//    username+password), if allow_registration.
//
// Registrations per address: one account per `registration_interval`
// (default 600 s, as ejabberd's registration_timeout) from one address;
// the connection puts the client's address in the pre-auth stanza's
// `from`.
//
// The accounts themselves live in an auth plugin: this plugin asks the
// vhost's auth.user_exists / auth.register / auth.set_password /
// auth.remove_user chains and answers from their results.

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/errors.hpp"
#include "hooks/catalogue.hpp"
#include "hooks/plugin.hpp"

namespace dja::plugins {

namespace {

constexpr const char* ns_register = "jabber:iq:register";
constexpr const char* feature_register =
  "http://jabber.org/features/iq-register";
constexpr const char* instructions =
  "Choose a user name and password to register with this server.";
/// Bound of our own hook calls (the vhost's timeout for this plugin ends
/// the iq earlier if it is shorter).
constexpr auto hook_timeout = std::chrono::seconds(30);
/// Longer passwords are refused (bad-request).
constexpr size_t max_password = 1024;

using hooks::account_result;
using reply_t = hooks::answer<xml::element_ptr>;
using promise_t = caf::typed_response_promise<reply_t>;

struct options {
  bool allow_registration = false;
  bool allow_password_change = true;
  /// Seconds between two registrations from one address (0: no bound).
  int64_t registration_interval = 600;
};

/// When each address last registered an account (pre-auth streams).
class recent_registrations {
public:
  using clock = std::chrono::steady_clock;

  explicit recent_registrations(std::chrono::seconds interval)
    : interval_(interval) {
  }

  /// Seconds until `addr` may register again (0: now).
  int64_t wait(const std::string& addr) const {
    auto i = last_.find(addr);
    if (i == last_.end())
      return 0;
    auto left = interval_ - (clock::now() - i->second);
    return std::max<int64_t>(
      0, std::chrono::ceil<std::chrono::seconds>(left).count());
  }

  void add(const std::string& addr) {
    auto now = clock::now();
    if (last_.size() > max_entries)
      for (auto i = last_.begin(); i != last_.end();)
        i = now - i->second >= interval_ ? last_.erase(i) : std::next(i);
    last_[addr] = now;
  }

private:
  static constexpr size_t max_entries = 100000;
  std::chrono::seconds interval_;
  std::unordered_map<std::string, clock::time_point> last_;
};

reply_t error_reply(const xml::element& orig, std::string_view condition,
                    std::string_view text = {}) {
  return reply_t::handled(errors::stanza_error(orig, condition, text));
}

/// A result with an optional <query/> payload.
reply_t result(const xml::element& orig, xml::element* query = nullptr) {
  auto reply = std::make_shared<xml::element>(errors::iq_result(orig));
  if (query != nullptr)
    reply->add_child(std::move(*query));
  return reply_t::handled(reply);
}

/// The reply for the outcome of an account change.
reply_t outcome(const xml::element& orig, account_result r) {
  switch (r) {
    case account_result::done:
      return result(orig);
    case account_result::conflict:
      return error_reply(orig, "conflict");
    case account_result::not_found:
      return error_reply(orig, "item-not-found");
    case account_result::not_allowed:
      break;
  }
  return error_reply(orig, "not-allowed");
}

/// Sends an account hook to the vhost and delivers the reply it maps to.
template <class Req>
promise_t change(caf::event_based_actor* self, const caf::actor& vhost,
                 xml::element_ptr orig, Req req) {
  auto rp = self->make_response_promise<reply_t>();
  self->request(vhost, hook_timeout, std::move(req))
    .then(
      [rp, orig](account_result r) mutable { rp.deliver(outcome(*orig, r)); },
      [rp, orig](caf::error& err) mutable {
        spdlog::error("register: {} failed: {}", Req::name,
                      caf::to_string(err));
        rp.deliver(error_reply(*orig, "internal-server-error"));
      });
  return rp;
}

/// A pre-auth registration: auth.user_exists (any auth plugin of the
/// vhost may know the name), then auth.register.
promise_t create(caf::event_based_actor* self, const caf::actor& vhost,
                 xml::element_ptr orig, jid user, std::string password,
                 std::function<void()> on_done) {
  auto rp = self->make_response_promise<reply_t>();
  self->request(vhost, hook_timeout, hooks::auth_user_exists{user})
    .then(
      [self, vhost, rp, orig, user, password = std::move(password),
       on_done = std::move(on_done)](bool exists) mutable {
        if (exists) {
          rp.deliver(error_reply(*orig, "conflict"));
          return;
        }
        self->request(vhost, hook_timeout,
                      hooks::auth_register{user, std::move(password)})
          .then(
            [rp, orig, user, on_done](account_result r) mutable {
              if (r == account_result::done) {
                spdlog::info("register: {} registered in-band",
                             user.bare_str());
                on_done();
              }
              rp.deliver(outcome(*orig, r));
            },
            [rp, orig](caf::error& err) mutable {
              spdlog::error("register: auth.register failed: {}",
                            caf::to_string(err));
              rp.deliver(error_reply(*orig, "internal-server-error"));
            });
      },
      [rp, orig](caf::error& err) mutable {
        spdlog::error("register: auth.user_exists failed: {}",
                      caf::to_string(err));
        rp.deliver(error_reply(*orig, "internal-server-error"));
      });
  return rp;
}

/// The fields of a set: username and password, both required.
struct fields {
  const xml::element* username = nullptr;
  const xml::element* password = nullptr;
  bool remove = false;
};

fields read_fields(const xml::element& query) {
  return {query.child("username", ns_register),
          query.child("password", ns_register),
          query.child("remove", ns_register) != nullptr};
}

caf::behavior registration(caf::event_based_actor* self, caf::actor vhost,
                           options opts) {
  auto recent = std::make_shared<recent_registrations>(
    std::chrono::seconds{opts.registration_interval});
  return {
    [self, vhost, opts,
     recent](const hooks::iq_request& r) -> caf::result<reply_t> {
      auto& orig = *r.stanza;
      auto query = orig.first_element();
      if (query == nullptr || query->name != "query"
          || query->ns != ns_register)
        return reply_t::decline();
      // To the server, or without `to` (= the user's own account, RFC
      // 6120 §10.3.3); not to somebody else.
      if (!r.to.local().empty() && r.to != r.from.bare())
        return reply_t::decline();
      auto type = orig.attr_or("type");
      auto f = read_fields(*query);
      if (!r.from.empty()) {
        // An authenticated user: their own account only.
        if (type == "get") {
          xml::element q{"query", ns_register};
          q.add_child(xml::element{"registered", ns_register});
          q.add_child(xml::element{"username", ns_register})
            .add_text(r.from.local());
          q.add_child(xml::element{"password", ns_register});
          return result(orig, &q);
        }
        if (f.remove)
          return change(self, vhost, r.stanza,
                        hooks::auth_remove_user{r.from.bare()});
        if (!opts.allow_password_change)
          return error_reply(orig, "not-allowed");
        if (f.username == nullptr || f.password == nullptr
            || f.password->text().empty())
          return error_reply(orig, "bad-request",
                             "username and password are required");
        if (f.password->text().size() > max_password)
          return error_reply(orig, "bad-request", "password too long");
        auto name = jid::prep_local(f.username->text());
        if (!name || *name != r.from.local())
          return error_reply(orig, "not-authorized");
        return change(self, vhost, r.stanza,
                      hooks::auth_set_password{r.from.bare(),
                                               f.password->text()});
      }
      // An unauthenticated stream.
      if (!opts.allow_registration)
        return error_reply(orig, "not-allowed");
      if (type == "get") {
        xml::element q{"query", ns_register};
        q.add_child(xml::element{"instructions", ns_register})
          .add_text(instructions);
        q.add_child(xml::element{"username", ns_register});
        q.add_child(xml::element{"password", ns_register});
        return result(orig, &q);
      }
      if (f.remove)
        return error_reply(orig, "not-authorized");
      if (f.username == nullptr || f.password == nullptr
          || f.password->text().empty())
        return error_reply(orig, "bad-request",
                           "username and password are required");
      if (f.password->text().size() > max_password)
        return error_reply(orig, "bad-request", "password too long");
      auto name = jid::prep_local(f.username->text());
      if (!name || name->empty())
        return error_reply(orig, "jid-malformed", "invalid user name");
      auto user = jid::make(*name, r.to.domain());
      if (!user)
        return error_reply(orig, "jid-malformed", "invalid user name");
      // Like ejabberd's registration_timeout / Prosody's
      // min_seconds_between_registrations: one account per address and
      // interval. XEP-0077 §3.1 leaves the error open; ejabberd answers
      // <resource-constraint/> (type wait: RFC 6120 §8.3.3.18, retry
      // later), as here.
      // The connection puts the client's address in `from`.
      auto addr = orig.attr_or("from");
      if (opts.registration_interval > 0) {
        if (auto left = recent->wait(addr); left > 0) {
          spdlog::warn("register: {} refused for {}: registered an account "
                       "less than {} s ago",
                       user->bare_str(), addr, opts.registration_interval);
          return error_reply(orig, "resource-constraint",
                             "too many registrations from your address; "
                             "wait "
                               + std::to_string(left) + " s");
        }
      }
      return create(self, vhost, r.stanza, *user, f.password->text(),
                    [recent, addr] { recent->add(addr); });
    },
  };
}

} // namespace

DJA_PLUGIN(register) {
  return {
    "register",
    "XEP-0077 In-Band Registration (accounts kept by an auth plugin)",
    {{"allow_registration", option_type::boolean, false,
      "let unauthenticated clients create accounts (default false)"},
     {"allow_password_change", option_type::boolean, false,
      "let users change their password in-band (default true)"},
     {"registration_interval", option_type::integer, false,
      "seconds between two registrations from one address (default 600, "
      "0: no bound)"}},
    [](const toml::table& o) {
      manifest m;
      m.iqs = {std::string{"get "} + ns_register,
               std::string{"set "} + ns_register};
      m.features = {ns_register};
      if (o["allow_registration"].value_or(false))
        m.stream_features = {feature_register};
      return m;
    },
    [](const spawn_context& ctx) {
      options opts;
      opts.allow_registration =
        ctx.options["allow_registration"].value_or(false);
      opts.allow_password_change =
        ctx.options["allow_password_change"].value_or(true);
      opts.registration_interval =
        ctx.options["registration_interval"].value_or(int64_t{600});
      return ctx.sys.spawn(registration, ctx.vhost_actor, opts);
    },
  };
}

} // namespace dja::plugins
