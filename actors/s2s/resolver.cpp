#include "s2s/resolver.hpp"

#include <arpa/nameser.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <resolv.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <caf/all.hpp>

namespace dja::s2s {

std::vector<srv_target> parse_srv(const unsigned char* answer, int len) {
  std::vector<srv_target> out;
  ns_msg msg;
  if (len <= 0 || ns_initparse(answer, len, &msg) != 0)
    return out;
  for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0 || ns_rr_type(rr) != ns_t_srv
        || ns_rr_rdlen(rr) < 7)
      continue;
    auto rd = ns_rr_rdata(rr);
    srv_target t;
    t.priority = ns_get16(rd);
    t.weight = ns_get16(rd + 2);
    t.port = ns_get16(rd + 4);
    char host[NS_MAXDNAME];
    if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), rd + 6, host,
                           sizeof(host))
        < 0)
      continue;
    t.host = host[0] == '\0' ? "." : host; // the root: "no service"
    out.push_back(std::move(t));
  }
  // RFC 2782: lowest priority first; among equals, heavier first.
  std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) {
    return a.priority != b.priority ? a.priority < b.priority
                                    : a.weight > b.weight;
  });
  return out;
}

std::vector<srv_target> lookup_srv(const std::string& name, bool& found) {
  found = false;
  struct __res_state rs;
  std::memset(&rs, 0, sizeof(rs));
  if (res_ninit(&rs) != 0)
    return {};
  unsigned char answer[4096];
  auto len = res_nquery(&rs, name.c_str(), ns_c_in, ns_t_srv, answer,
                        sizeof(answer));
  res_nclose(&rs);
  auto out = parse_srv(answer, len);
  found = !out.empty();
  return out;
}

namespace {

enum class attempt { ok, refused, timed_out };

/// A non-blocking connect bounded by `timeout`; the socket stays
/// non-blocking (CAF's multiplexer takes it over).
attempt connect_one(const addrinfo& ai, std::chrono::milliseconds timeout,
                    int& fd_out, std::string& error) {
  auto fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK
                                     | SOCK_CLOEXEC,
                     ai.ai_protocol);
  if (fd < 0) {
    error = std::strerror(errno);
    return attempt::refused;
  }
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0 && errno != EINPROGRESS) {
    error = std::strerror(errno);
    ::close(fd);
    return attempt::refused;
  }
  pollfd p{fd, POLLOUT, 0};
  auto n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (n == 0) {
    error = "connect timed out";
    ::close(fd);
    return attempt::timed_out;
  }
  int err = 0;
  socklen_t len = sizeof(err);
  if (n < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0
      || err != 0) {
    error = std::strerror(err != 0 ? err : errno);
    ::close(fd);
    return attempt::refused;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fd_out = fd;
  return attempt::ok;
}

/// Tries every address of host:port; true when connected.
bool connect_host(const std::string& host, uint16_t port,
                  std::chrono::milliseconds timeout, connect_result& res) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  auto service = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
      rc != 0) {
    res.error = host + ": " + gai_strerror(rc);
    return false;
  }
  bool ok = false;
  for (auto ai = list; ai != nullptr && !ok; ai = ai->ai_next) {
    std::string err;
    switch (connect_one(*ai, timeout, res.fd, err)) {
      case attempt::ok:
        ok = true;
        break;
      case attempt::timed_out:
        res.timed_out = true;
        [[fallthrough]];
      case attempt::refused:
        res.error = host + ":" + service + ": " + err;
    }
  }
  ::freeaddrinfo(list);
  if (ok)
    res.peer = host + ":" + service;
  return ok;
}

connect_result reach(const std::string& domain, const std::string& host,
                     uint16_t port, std::chrono::milliseconds timeout) {
  connect_result res;
  if (!host.empty()) { // a static route
    connect_host(host, port, timeout, res);
    return res;
  }
  bool found = false;
  auto targets = lookup_srv("_xmpp-server._tcp." + domain, found);
  if (found && targets.size() == 1 && targets.front().host == ".") {
    res.error = domain + ": SRV says no XMPP service"; // RFC 6120 §3.2.1
    return res;
  }
  for (auto& t : targets)
    if (connect_host(t.host, t.port, timeout, res))
      return res;
  if (!found) // §3.2.2: the domain itself, port 5269
    connect_host(domain, 5269, timeout, res);
  return res;
}

caf::behavior connector(caf::event_based_actor* self) {
  return {
    [self](connect_atom, const std::string& domain, const std::string& host,
           uint16_t port, caf::timespan timeout) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
      auto res = reach(domain, host, port, ms);
      self->quit();
      return res;
    },
  };
}

} // namespace

caf::actor spawn_connector(caf::actor_system& sys) {
  return sys.spawn<caf::detached>(connector);
}

} // namespace dja::s2s
