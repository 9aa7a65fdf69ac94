#pragma once

// TLS for the connection actor with OpenSSL memory BIOs, so that STARTTLS
// upgrades the same socket and direct TLS (XEP-0368) uses the same code:
// the actor feeds the socket's bytes in and writes out what comes back.

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

private:
  static int on_servername(SSL* ssl, int* alert, void* arg);
  std::vector<std::pair<std::string, SSL_CTX*>> entries_;
};

/// One TLS session over a connection.
class session {
public:
  explicit session(SSL_CTX* ctx);
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

  /// The server name the client asked for (SNI), or "".
  std::string server_name() const;

  /// "TLSv1.3" etc.
  std::string version() const;

  /// Channel-binding data (RFC 9266 tls-exporter, RFC 5929
  /// tls-server-end-point); empty if unavailable on this session.
  std::string channel_binding(std::string_view type) const;

  /// The last error, for the log.
  const std::string& error() const { return error_; }

private:
  bool pump(std::string& plain);
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;  ///< socket -> OpenSSL
  BIO* out_ = nullptr; ///< OpenSSL -> socket
  std::string error_;
};

} // namespace dja::tls
