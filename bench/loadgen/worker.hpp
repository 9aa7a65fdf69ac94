// dja-loadgen: options, the state shared by all threads, one XMPP client
// connection, and the epoll worker that drives a slice of the clients.
//
// Threads: the main thread coordinates (phase changes, deadline, report);
// each worker owns an epoll set and whole pairs of clients, so a receiver can
// acknowledge its sender by a plain function call. Workers publish only a
// few counters through relaxed atomics; everything else is merged after join.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

#include "histogram.hpp"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
#include "xml_splitter.hpp"

namespace lg {

enum class mode { login, idle, pairs, muc };

struct options {
  std::string host = "127.0.0.1";
  int port = 5222;
  std::string domain = "localhost";
  std::string user_pattern = "user%d";
  std::string password = "pw";
  long first = 1;
  long users = 0;
  mode run_mode = mode::login;
  long concurrency = 100;
  int presence = -1; // -1: default for the mode
  double hold = 10;
  double rate = 0;
  long inflight = 10;
  double duration = 10;
  double warmup = 1;
  double drain = -1; // s to wait for outstanding messages (-1: 2, muc 10)
  double timeout = 120;
  bool json = false;
  long threads = 1;
  std::string resource = "lg";
  bool tls = false; // STARTTLS before SASL (no certificate verification)
  bool sm = false;  // XEP-0198 enabled after bind; the server's <r/> answered
  bool carbons = false; // XEP-0280 enable after bind (bench/README.md)
  // --mode muc (XEP-0045): client i joins room i % rooms as nick user(i);
  // clients 0 .. senders-1 send groupchat messages (muc.cpp)
  std::string muc_service;        // default "conference." + domain
  std::string room_prefix = "lgroom";
  long rooms = 1;
  long senders = 1;
  double join_delay = 0;          // seconds between "LOGGED n" and the joins
  long join_concurrency = 0;      // joins in flight (0: --concurrency)
  double join_timeout = 60;       // seconds for a join's self-presence
  double close_timeout = 3;       // seconds for the server's </stream:stream>

  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  /// --ports: client i connects to ports[i % n] (a cluster's nodes; the
  /// two clients of a pair then sit on different nodes). Empty: --port.
  std::vector<int> ports;
  std::string user(long i) const; // i-th user name, i from 0
};

/// Phases, advanced only by the coordinator. create and join are the MUC
/// mode's: the rooms' first occupants join (and configure), then the rest.
enum class phase : int { login, create, join, hold, traffic, drain, closing, done };

enum err_kind {
  err_connect,    // connect/read/write failure
  err_auth,       // SASL failure, PLAIN not offered
  err_stream,     // <stream:error/>, unparsable XML, stream closed by server
  err_bind,       // bind/session iq answered with an error
  err_disconnect, // connection lost while logged in
  err_timeout,    // login or close did not finish in time
  err_message,    // message bounced with type='error'
  err_join,       // MUC join or room configuration answered with an error
  err_kinds
};
extern const char* const err_names[err_kinds];

struct shared_state {
  explicit shared_state(const options& o) : opt(o) {}
  const options& opt;
  std::atomic<phase> current{phase::login};
  // Set by the coordinator before it publishes phase::traffic.
  std::atomic<int64_t> traffic_start{0}, measure_start{0}, measure_end{0};
  std::atomic<uint64_t> logins_finished{0}, logins_ok{0}, open{0};
  std::atomic<uint64_t> sent{0}, received{0};
  /// Deliveries due for the messages sent: 1 per chat message, the room's
  /// occupants per groupchat message; the drain waits for received >= it.
  std::atomic<uint64_t> expected{0};
  // --mode muc: per room, 0 pending / 1 ready / 2 failed, members joined
  // and messages sent; rooms and joins finished (ok or not), joins ok
  std::unique_ptr<std::atomic<int>[]> room_state;
  std::unique_ptr<std::atomic<uint64_t>[]> room_members, room_sent;
  std::atomic<uint64_t> rooms_finished{0}, joins_finished{0}, joins_ok{0};
  std::atomic<uint64_t> errors_logged{0};
  SSL_CTX* tls_ctx = nullptr; // --tls: shared by all workers (read-only)
};

int64_t now_ns(); // CLOCK_MONOTONIC

enum class cstate {
  unstarted, connecting, starttls, tls_handshake, sasl_features, auth,
  bind_features, bind, session, online, closing, closed
};

/// A client's place in a room (--mode muc).
enum class mstate : uint8_t { none, joining, configuring, joined, failed };

struct client {
  int fd = -1;
  SSL* ssl = nullptr;  // --tls, once <proceed/> arrived
  bool tls_done = false; // handshake finished: stream restarted over TLS
  long index = 0;      // global, from 0: user name is opt.user(index)
  cstate state = cstate::unstarted;
  bool login_done = false;
  bool want_write = false; // EPOLLOUT registered
  bool dirty = false;      // in the worker's flush list
  bool need_session = false;
  int64_t t_connect = 0, deadline = 0;
  xml_splitter in;
  std::string out;
  size_t out_off = 0;
  std::string jid; // full JID the server bound
  uint32_t sm_h = 0; // --sm: stanzas received since <enabled/> (XEP-0198 §4)
  client* peer = nullptr;
  // as a sender
  uint64_t next_seq = 0;
  long inflight = 0;
  // as a receiver
  uint64_t expect_seq = 0;
  // --mode muc
  mstate muc = mstate::none;
  long room = 0;
  int64_t t_join = 0;
  uint64_t muc_received = 0; // groupchat messages of ours received
};

struct worker_stats {
  histogram login_latency, msg_latency, join_latency;
  uint64_t errors[err_kinds] = {};
  uint64_t sent = 0, received = 0, measured = 0, out_of_order = 0;
  uint64_t other_stanzas = 0;
  // --sm: <enabled/> received, server <r/> answered, <a/> received (one
  // asked for with <r/> before each close)
  uint64_t sm_enabled = 0, sm_requests = 0, sm_acks = 0;
  int64_t first_connect = 0, last_bind = 0;
  // --mode muc
  uint64_t echoes_measured = 0, presences = 0;
  int64_t first_join = 0, last_join = 0;
};

/// --mode muc, after the run: deliveries each joined occupant missed or got
/// twice against what was sent to its room.
struct muc_tally {
  uint64_t occupants = 0, missing = 0, extra = 0, short_occupants = 0;
};

class worker {
public:
  worker(shared_state& sh, std::vector<long> indices, long login_quota);
  void run();
  worker_stats stats;

private:
  // client.cpp: connection and login state machine
  void start_connect(client& c);
  void on_event(client& c, uint32_t events);
  void on_connected(client& c);
  void on_readable(client& c);
  void on_element(client& c, xml_splitter::event ev);
  void on_login_stanza(client& c, std::string_view name);
  void on_online_stanza(client& c, std::string_view name);
  void send_header(client& c);
  void start_tls(client& c);
  void tls_handshake(client& c);
  void tls_fail(client& c, err_kind k, const char* what);
  void send(client& c, std::string_view data);
  void write_out(client& c);
  void flush();
  void set_write_interest(client& c, bool on);
  void log_error(client& c, err_kind k, std::string_view detail);
  void fail(client& c, err_kind k, std::string_view detail);
  void close_fd(client& c);
  void begin_close(client& c);
  void finish_login(client& c, bool ok);

  // workload.cpp: phases and traffic
  void on_bound(client& c);
  void on_phase(phase p);
  void on_message(client& c);
  void send_message(client& from, int64_t stamp);
  bool can_send(const client& s) const;
  void send_one(client& from, int64_t stamp); // chat or groupchat
  void pump(client& sender);
  void pace();
  void check_deadlines(int64_t now);

  // muc.cpp: XEP-0045 joins, room creation, groupchat traffic
public:
  void tally(muc_tally& t) const;
private:
  std::string room_jid(const client& c) const;
  void on_muc_phase(phase p);
  void start_join(client& c);
  bool on_muc_stanza(client& c, std::string_view name);
  void joined(client& c);
  void join_failed(client& c, std::string_view why);
  void on_groupchat(client& c);
  void send_groupchat(client& from, int64_t stamp);
  bool muc_sender(const client& c) const;

  shared_state& sh_;
  const options& opt_;
  std::vector<client> clients_;
  std::vector<client*> dirty_;
  std::vector<client*> senders_; // pairs/muc mode, rate > 0
  std::vector<client*> joins_;   // muc: clients to join in this phase
  size_t next_join_ = 0;
  long joins_in_flight_ = 0, join_quota_ = 1;
  int ep_ = -1;
  long login_quota_, logins_in_flight_ = 0;
  size_t next_start_ = 0;
  phase phase_ = phase::login;
  uint64_t paced_ = 0;       // messages scheduled so far (rate > 0)
  int64_t next_pace_ = 0;    // when the next one is due (0: none)
  double pace_interval_ = 0; // ns between scheduled sends of this worker
};

} // namespace lg
