// Connections to the directory over libldap (plugins/ldap/directory.hpp).

#include "plugins/ldap/directory.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <ldap.h>
#include <sys/socket.h>

#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

namespace dja::plugins::ldap {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

caf::error failure(const std::string& what, int rc) {
  return caf::make_error(caf::sec::runtime_error,
                         what + ": " + ldap_err2string(rc));
}

/// A kept connection the directory closed (it restarted): worth one
/// more try on a fresh one at once. Not a timeout: a directory that is
/// slow would make the caller wait twice query_timeout_ms.
bool dropped(int rc) {
  return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR;
}

timeval as_timeval(std::chrono::milliseconds ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

int simple_bind(LDAP* ld, const std::string& dn, const std::string& pw) {
  berval cred;
  cred.bv_val = const_cast<char*>(pw.data());
  cred.bv_len = pw.size();
  return ldap_sasl_bind_s(ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr,
                          nullptr, nullptr);
}

} // namespace

/// The backstop of every call's bound. libldap bounds connecting
/// (LDAP_OPT_NETWORK_TIMEOUT) and waiting for results (LDAP_OPT_TIMEOUT),
/// but not the TLS handshake of ldaps://: a directory that accepts the
/// connection and never answers (a frozen slapd) would hold the worker
/// for ever. A connect callback (LDAP_OPT_CONNECT_CB; libldap keeps a
/// pointer to `cb`) records this directory's sockets, and a watchdog
/// thread shuts them down when a call outlives its deadline, so the
/// call fails (and the connections are opened again at the next one).
struct directory::socket_hook {
  using clock = std::chrono::steady_clock;

  ldap_conncb cb{};
  std::mutex mtx;
  std::condition_variable cv;
  std::set<int> fds;
  std::optional<clock::time_point> deadline; ///< of the running call
  bool stop = false;
  std::thread watchdog;

  socket_hook() {
    cb.lc_add = &add;
    cb.lc_del = &del;
    cb.lc_arg = this;
    watchdog = std::thread{[this] { watch(); }};
  }

  ~socket_hook() {
    {
      std::lock_guard<std::mutex> guard{mtx};
      stop = true;
    }
    cv.notify_all();
    watchdog.join();
  }

  static int fd_of(Sockbuf* sb) {
    ber_socket_t fd = -1;
    if (sb == nullptr || ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1)
      return -1;
    return fd;
  }

  static int add(LDAP*, Sockbuf* sb, LDAPURLDesc*, sockaddr*,
                 ldap_conncb* ctx) {
    auto self = static_cast<socket_hook*>(ctx->lc_arg);
    std::lock_guard<std::mutex> guard{self->mtx};
    if (auto fd = fd_of(sb); fd >= 0)
      self->fds.insert(fd);
    return 0;
  }

  static void del(LDAP*, Sockbuf* sb, ldap_conncb* ctx) {
    auto self = static_cast<socket_hook*>(ctx->lc_arg);
    std::lock_guard<std::mutex> guard{self->mtx};
    self->fds.erase(fd_of(sb));
  }

  void watch() {
    std::unique_lock<std::mutex> lock{mtx};
    while (!stop) {
      if (!deadline) {
        cv.wait(lock);
        continue;
      }
      auto until = *deadline;
      if (cv.wait_until(lock, until) != std::cv_status::timeout
          || deadline != until)
        continue; // the call ended, or another one began
      for (auto fd : fds)
        shutdown(fd, SHUT_RDWR);
      deadline.reset();
    }
  }

  /// A call begins: shut its sockets down at now + `d`.
  void arm(std::chrono::milliseconds d) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      deadline = clock::now() + d;
    }
    cv.notify_all();
  }

  /// The call ended; `live` are the sockets of the open connections (a
  /// socket libldap closed without telling `del` is forgotten here, so
  /// the watchdog never touches a number the process reused).
  void disarm(std::set<int> live) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      deadline.reset();
      fds = std::move(live);
    }
    cv.notify_all();
  }
};

/// The watchdog's deadline for one call: the call's own bound and a
/// little more, so libldap's own timeouts answer first when they can.
class armed {
public:
  explicit armed(directory& d) : d_(d) {
    d_.hook_->arm(d_.cfg_.timeout + std::chrono::milliseconds{250});
  }
  ~armed() {
    std::set<int> live;
    for (auto ld : {d_.service_, d_.auth_}) {
      int fd = -1;
      if (ld != nullptr && ldap_get_option(ld, LDAP_OPT_DESC, &fd) == 0
          && fd >= 0)
        live.insert(fd);
    }
    d_.hook_->disarm(std::move(live));
  }
  armed(const armed&) = delete;
  armed& operator=(const armed&) = delete;

private:
  directory& d_;
};

const std::vector<std::string>& entry::values(const std::string& attr) const {
  static const std::vector<std::string> none;
  auto i = attrs.find(lower(attr));
  return i == attrs.end() ? none : i->second;
}

std::optional<std::string> entry::first(const std::string& attr) const {
  auto& v = values(attr);
  if (v.empty())
    return std::nullopt;
  return v.front();
}

directory::directory(connection_settings cfg)
  : cfg_(std::move(cfg)), hook_(std::make_unique<socket_hook>()) {
  // Connections open at the first call.
}

directory::~directory() {
  close(service_);
  close(auth_);
}

void directory::close(LDAP*& ld) {
  if (ld != nullptr)
    ldap_unbind_ext_s(ld, nullptr, nullptr);
  ld = nullptr;
}

caf::expected<LDAP*> directory::open(LDAP*& ld, bool service) {
  if (ld != nullptr)
    return ld;
  LDAP* h = nullptr;
  int rc = ldap_initialize(&h, cfg_.uri.c_str());
  if (rc != LDAP_SUCCESS || h == nullptr)
    return failure("ldap_initialize", rc);
  int v3 = LDAP_VERSION3;
  ldap_set_option(h, LDAP_OPT_PROTOCOL_VERSION, &v3);
  ldap_set_option(h, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  auto tv = as_timeval(cfg_.timeout);
  ldap_set_option(h, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  ldap_set_option(h, LDAP_OPT_TIMEOUT, &tv);
  ldap_set_option(h, LDAP_OPT_CONNECT_CB, &hook_->cb);
  int require = cfg_.tls_verify ? LDAP_OPT_X_TLS_DEMAND
                                : LDAP_OPT_X_TLS_NEVER;
  ldap_set_option(h, LDAP_OPT_X_TLS_REQUIRE_CERT, &require);
  if (!cfg_.ca_file.empty())
    ldap_set_option(h, LDAP_OPT_X_TLS_CACERTFILE, cfg_.ca_file.c_str());
  // The TLS options above apply to this handle's own context.
  int is_server = 0;
  ldap_set_option(h, LDAP_OPT_X_TLS_NEWCTX, &is_server);
  ld = h;
  if (cfg_.starttls) {
    rc = ldap_start_tls_s(ld, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) {
      close(ld);
      return failure("StartTLS", rc);
    }
  }
  if (service && !cfg_.bind_dn.empty()) {
    rc = simple_bind(ld, cfg_.bind_dn, cfg_.bind_password);
    if (rc != LDAP_SUCCESS) {
      close(ld);
      if (rc == LDAP_INVALID_CREDENTIALS)
        spdlog::error("{}: bind_dn {}: the directory refuses "
                      "bind_password", cfg_.tag, cfg_.bind_dn);
      return failure("service bind", rc);
    }
  }
  return ld;
}

caf::expected<entries>
directory::search(const std::string& base, scope s, const std::string& filter,
                  const std::vector<std::string>& attrs) {
  std::vector<char*> names;
  for (auto& a : attrs)
    names.push_back(const_cast<char*>(a.c_str()));
  // RFC 4511 §4.5.1.8: "1.1" asks for no attributes.
  static char no_attrs[] = "1.1";
  if (names.empty())
    names.push_back(no_attrs);
  names.push_back(nullptr);
  auto tv = as_timeval(cfg_.timeout);
  for (int attempt = 0;; ++attempt) {
    armed bound{*this};
    bool was_open = service_ != nullptr;
    auto ld = open(service_, true);
    if (!ld)
      return ld.error();
    LDAPMessage* res = nullptr;
    int rc = ldap_search_ext_s(*ld, base.c_str(),
                               s == scope::base ? LDAP_SCOPE_BASE
                                                : LDAP_SCOPE_SUBTREE,
                               filter.c_str(), names.data(), 0, nullptr,
                               nullptr, &tv, 0, &res);
    if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED
        || rc == LDAP_NO_SUCH_OBJECT) {
      entries out;
      for (auto e = ldap_first_entry(*ld, res); e != nullptr;
           e = ldap_next_entry(*ld, e)) {
        entry item;
        if (char* dn = ldap_get_dn(*ld, e)) {
          item.dn = dn;
          ldap_memfree(dn);
        }
        BerElement* ber = nullptr;
        for (char* a = ldap_first_attribute(*ld, e, &ber); a != nullptr;
             a = ldap_next_attribute(*ld, e, ber)) {
          auto& vals = item.attrs[lower(a)];
          if (berval** bv = ldap_get_values_len(*ld, e, a)) {
            for (auto p = bv; *p != nullptr; ++p)
              vals.emplace_back((*p)->bv_val, (*p)->bv_len);
            ldap_value_free_len(bv);
          }
          ldap_memfree(a);
        }
        if (ber != nullptr)
          ber_free(ber, 0);
        out.push_back(std::move(item));
      }
      ldap_msgfree(res);
      if (rc == LDAP_SIZELIMIT_EXCEEDED)
        spdlog::warn("{}: search under {}: the directory's size limit cut "
                     "the result at {} entries", cfg_.tag, base,
                     out.size());
      return out;
    }
    if (res != nullptr)
      ldap_msgfree(res);
    close(service_);
    // A kept connection the directory dropped (it restarted): once more
    // on a fresh one.
    if (attempt == 0 && was_open && dropped(rc))
      continue;
    return failure("search under " + base, rc);
  }
}

caf::expected<bool> directory::bind(const std::string& dn,
                                    const std::string& password) {
  if (password.empty() || dn.empty())
    return false;
  for (int attempt = 0;; ++attempt) {
    armed bound{*this};
    bool was_open = auth_ != nullptr;
    auto ld = open(auth_, false);
    if (!ld)
      return ld.error();
    int rc = simple_bind(*ld, dn, password);
    if (rc == LDAP_SUCCESS)
      return true;
    // RFC 4511 §4.2.2: invalidCredentials; a DN that does not parse is
    // no such user either.
    if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INVALID_DN_SYNTAX)
      return false;
    close(auth_);
    if (attempt == 0 && was_open && dropped(rc))
      continue;
    return failure("bind", rc);
  }
}

} // namespace dja::plugins::ldap
