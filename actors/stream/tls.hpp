#pragma once

// TLS for the stream pump (stream/pump.hpp) with OpenSSL memory BIOs, so
// that STARTTLS (RFC 6120 §5) upgrades the same socket and direct TLS
// (XEP-0368) uses the same code: the pump feeds the socket's bytes in and
// writes out what comes back. Used by c2s and both s2s directions.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/ssl.h>

namespace dja::tls {

/// One vhost's certificate.
struct identity {
  std::string domain;
  std::string cert_file; ///< PEM, leaf first, chain after
  std::string key_file;  ///< PEM
};

/// The server's TLS contexts: one per vhost certificate, chosen by SNI
/// (the first one when the client sends no SNI or an unknown name).
/// Immutable after make(); shared by every connection.
class context_set {
public:
  /// Loads the certificates; on failure returns null and sets `error` to
  /// what went wrong (naming the file).
  static std::shared_ptr<context_set>
  make(const std::vector<identity>& ids, const std::string& ciphers,
       const std::string& ciphersuites, std::string& error);

  ~context_set();

  /// The context for `domain`, or nullptr when it has no certificate.
  SSL_CTX* find(std::string_view domain) const;
  SSL_CTX* default_context() const;
  bool empty() const { return entries_.empty(); }
  /// Trust anchors for peer certificates (incoming s2s); at start only.
  void set_verify_store(X509_STORE* store);

private:
  static int on_servername(SSL* ssl, int* alert, void* arg);
  std::vector<std::pair<std::string, SSL_CTX*>> entries_;
};

/// Server-to-server: the trust anchors that verify peer certificates
/// (OpenSSL's default paths plus an optional private CA file) and the
/// client contexts of outgoing streams, one per local domain with a
/// certificate (presented so that the peer can offer SASL EXTERNAL,
/// XEP-0178) and one without. Immutable after make().
class peer_trust {
public:
  static std::shared_ptr<peer_trust>
  make(const std::vector<identity>& ids, const std::string& ca_file,
       const std::string& ciphers, const std::string& ciphersuites,
       std::string& error);

  ~peer_trust();

  /// The client context for streams from `local_domain`.
  SSL_CTX* client_context(std::string_view local_domain) const;
  /// True when streams from `local_domain` present a certificate.
  bool has_certificate(std::string_view local_domain) const {
    return client_context(local_domain) != anonymous_;
  }
  X509_STORE* store() const { return store_; }

private:
  X509_STORE* store_ = nullptr;
  SSL_CTX* anonymous_ = nullptr; ///< no certificate of ours
  std::vector<std::pair<std::string, SSL_CTX*>> clients_;
};

/// One TLS session over a connection.
class session {
public:
  explicit session(SSL_CTX* ctx);
  /// The client side of a connection (outgoing s2s): sends `server_name`
  /// as SNI (RFC 6066) and starts the handshake at once (see
  /// take_output()).
  session(SSL_CTX* ctx, const std::string& server_name);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  /// Feeds bytes from the socket; appends decrypted bytes to `plain`.
  /// False on a fatal TLS error (the connection must be closed).
  bool feed(const char* data, size_t len, std::string& plain);

  /// Encrypts `plain` for sending.
  bool write(std::string_view plain);

  /// Moves the bytes to send to the socket into `out`.
  void take_output(std::vector<char>& out);

  bool handshake_done() const;

  /// Queues the close_notify alert (RFC 8446 §6.1) for sending.
  void shutdown();

  /// An idle stream: frees what the memory BIOs keep (a BUF_MEM holds the
  /// capacity of the largest chunk it ever had: the handshake flight, a
  /// 4 KiB read; about 2 KiB per connection) by giving the SSL fresh
  /// empty ones, once the handshake is done and both are empty.
  void release_buffers();

  /// The server name the client asked for (SNI), or "".
  std::string server_name() const;

  /// "TLSv1.3" etc.
  std::string version() const;

  /// Channel-binding data of `type` ("tls-unique", "tls-exporter",
  /// "tls-server-end-point"); empty when the type is not defined on this
  /// session (see channel_binding_types()).
  std::string channel_binding(std::string_view type) const;

  /// The channel-binding types this session can verify, strongest first:
  ///   tls-exporter          RFC 9266: TLS 1.3, or TLS 1.2 with the
  ///                         extended master secret (RFC 7627);
  ///   tls-unique            RFC 5929 §3: TLS 1.2 only (undefined on 1.3,
  ///                         RFC 8446 §C.5), not after a resumption
  ///                         without the extended master secret;
  ///   tls-server-end-point  RFC 5929 §4: any version, needs our
  ///                         certificate.
  /// Empty before the handshake ends.
  std::vector<std::string_view> channel_binding_types() const;

  /// The last error, for the log.
  const std::string& error() const { return error_; }

  /// Server side (incoming s2s): ask the peer for its certificate and
  /// verify its chain against `store`; the handshake never fails for it
  /// (the stream decides, see peer_valid_for()). Call before any feed().
  void request_peer_certificate(X509_STORE* store);

  /// The peer's certificate chain verified and the certificate names
  /// `domain` (RFC 6125 DNS-ID, wildcards as OpenSSL allows them).
  bool peer_valid_for(std::string_view domain) const;

  /// Why peer_valid_for() is false, for the log ("" when it is true).
  std::string peer_problem(std::string_view domain) const;

private:
  static int on_verify(int ok, X509_STORE_CTX* store_ctx);
  static int ex_index();
  bool pump(std::string& plain);
  long verify_error_ = 0; ///< first chain error seen (X509_V_OK: none)
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;  ///< socket -> OpenSSL
  BIO* out_ = nullptr; ///< OpenSSL -> socket
  std::string error_;
};

} // namespace dja::tls
