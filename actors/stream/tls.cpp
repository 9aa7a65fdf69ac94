#include "stream/tls.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace dja::tls {

namespace {

std::string last_ssl_error() {
  char buf[256];
  auto code = ERR_get_error();
  if (code == 0)
    return "unknown TLS error";
  ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

SSL_CTX* make_context(const identity& id, const std::string& ciphers,
                      const std::string& ciphersuites, std::string& error) {
  auto ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    error = last_ssl_error();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Idle connections keep their memory small (bench/RESULTS.md,
  // "Memory"): buffers are released between reads, no session cache, no
  // tickets.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION
                             | SSL_OP_CIPHER_SERVER_PREFERENCE
                             | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_num_tickets(ctx, 0);
  if (!ciphers.empty() && SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    error = "tls_ciphers: no usable cipher in \"" + ciphers + "\"";
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (!ciphersuites.empty()
      && SSL_CTX_set_ciphersuites(ctx, ciphersuites.c_str()) != 1) {
    error = "tls_ciphersuites: no usable suite in \"" + ciphersuites + "\"";
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, id.cert_file.c_str()) != 1) {
    error = "tls_cert: cannot load " + id.cert_file + ": " + last_ssl_error();
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, id.key_file.c_str(), SSL_FILETYPE_PEM)
      != 1) {
    error = "tls_key: cannot load " + id.key_file + ": " + last_ssl_error();
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    error = "tls_key: " + id.key_file + " does not match " + id.cert_file;
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

/// A context for the client side of outgoing s2s streams, presenting
/// `id`'s certificate when given.
SSL_CTX* make_client_context(const identity* id, X509_STORE* store,
                             const std::string& ciphers,
                             const std::string& ciphersuites,
                             std::string& error) {
  auto ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    error = last_ssl_error();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set1_cert_store(ctx, store);
  if ((!ciphers.empty() && SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1)
      || (!ciphersuites.empty()
          && SSL_CTX_set_ciphersuites(ctx, ciphersuites.c_str()) != 1)) {
    error = "tls_ciphers / tls_ciphersuites: nothing usable";
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (id != nullptr
      && (SSL_CTX_use_certificate_chain_file(ctx, id->cert_file.c_str()) != 1
          || SSL_CTX_use_PrivateKey_file(ctx, id->key_file.c_str(),
                                         SSL_FILETYPE_PEM)
               != 1)) {
    error = "tls_cert: cannot load " + id->cert_file + " for s2s: "
            + last_ssl_error();
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

} // namespace

std::shared_ptr<peer_trust>
peer_trust::make(const std::vector<identity>& ids, const std::string& ca_file,
                 const std::string& ciphers, const std::string& ciphersuites,
                 std::string& error) {
  auto res = std::shared_ptr<peer_trust>(new peer_trust);
  res->store_ = X509_STORE_new();
  if (res->store_ == nullptr
      || X509_STORE_set_default_paths(res->store_) != 1) {
    error = "s2s: cannot load the default trust anchors: " + last_ssl_error();
    return nullptr;
  }
  if (!ca_file.empty()
      && X509_STORE_load_file(res->store_, ca_file.c_str()) != 1) {
    error = "s2s_ca_file: cannot load " + ca_file + ": " + last_ssl_error();
    return nullptr;
  }
  res->anonymous_ = make_client_context(nullptr, res->store_, ciphers,
                                        ciphersuites, error);
  if (res->anonymous_ == nullptr)
    return nullptr;
  for (auto& id : ids) {
    auto ctx = make_client_context(&id, res->store_, ciphers, ciphersuites,
                                   error);
    if (ctx == nullptr)
      return nullptr;
    res->clients_.emplace_back(id.domain, ctx);
  }
  return res;
}

peer_trust::~peer_trust() {
  for (auto& c : clients_)
    SSL_CTX_free(c.second);
  if (anonymous_ != nullptr)
    SSL_CTX_free(anonymous_);
  if (store_ != nullptr)
    X509_STORE_free(store_);
}

SSL_CTX* peer_trust::client_context(std::string_view local_domain) const {
  for (auto& [d, ctx] : clients_)
    if (d == local_domain)
      return ctx;
  return anonymous_;
}

void context_set::set_verify_store(X509_STORE* store) {
  // Incoming s2s streams verify the peer's certificate against it; the
  // SNI callback swaps the SSL_CTX, so every context needs it (c2s
  // contexts never ask for a client certificate, so it is unused there).
  for (auto& e : entries_)
    SSL_CTX_set1_verify_cert_store(e.second, store);
}

std::shared_ptr<context_set>
context_set::make(const std::vector<identity>& ids, const std::string& ciphers,
                  const std::string& ciphersuites, std::string& error) {
  auto set = std::shared_ptr<context_set>(new context_set);
  for (auto& id : ids) {
    auto ctx = make_context(id, ciphers, ciphersuites, error);
    if (ctx == nullptr)
      return nullptr;
    set->entries_.emplace_back(id.domain, ctx);
  }
  for (auto& [domain, ctx] : set->entries_) {
    SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
    SSL_CTX_set_tlsext_servername_arg(ctx, set.get());
  }
  return set;
}

context_set::~context_set() {
  for (auto& e : entries_)
    SSL_CTX_free(e.second);
}

SSL_CTX* context_set::find(std::string_view domain) const {
  for (auto& [d, ctx] : entries_)
    if (d == domain)
      return ctx;
  return nullptr;
}

SSL_CTX* context_set::default_context() const {
  return entries_.empty() ? nullptr : entries_.front().second;
}

int context_set::on_servername(SSL* ssl, int*, void* arg) {
  auto self = static_cast<context_set*>(arg);
  auto name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name != nullptr)
    if (auto ctx = self->find(name); ctx && ctx != SSL_get_SSL_CTX(ssl))
      SSL_set_SSL_CTX(ssl, ctx);
  return SSL_TLSEXT_ERR_OK;
}

session::session(SSL_CTX* ctx) {
  ssl_ = SSL_new(ctx);
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in_, -1);
  SSL_set_bio(ssl_, in_, out_); // ssl_ owns both BIOs now
  SSL_set_accept_state(ssl_);
}

session::session(SSL_CTX* ctx, const std::string& server_name) {
  ssl_ = SSL_new(ctx);
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in_, -1);
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_connect_state(ssl_);
  SSL_set_ex_data(ssl_, ex_index(), this);
  SSL_set_verify(ssl_, SSL_VERIFY_PEER, on_verify);
  if (!server_name.empty())
    SSL_set_tlsext_host_name(ssl_, server_name.c_str());
  // The ClientHello: written to out_, taken by take_output().
  SSL_do_handshake(ssl_);
  ERR_clear_error();
}

int session::ex_index() {
  static int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

int session::on_verify(int ok, X509_STORE_CTX* store_ctx) {
  // Never fail the handshake: record the first problem; the stream
  // decides (SASL EXTERNAL needs a valid chain, dialback does not).
  auto ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(
    store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ok == 0 && ssl != nullptr)
    if (auto self = static_cast<session*>(SSL_get_ex_data(ssl, ex_index()));
        self && self->verify_error_ == X509_V_OK)
      self->verify_error_ = X509_STORE_CTX_get_error(store_ctx);
  return 1;
}

void session::request_peer_certificate(X509_STORE* store) {
  SSL_set_ex_data(ssl_, ex_index(), this);
  SSL_set1_verify_cert_store(ssl_, store);
  SSL_set_verify(ssl_, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, on_verify);
}

bool session::peer_valid_for(std::string_view domain) const {
  return peer_problem(domain).empty();
}

std::string session::peer_problem(std::string_view domain) const {
  if (!handshake_done())
    return "no TLS";
  auto cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr)
    return "no certificate";
  std::string problem;
  auto result = verify_error_ != X509_V_OK ? verify_error_
                                           : SSL_get_verify_result(ssl_);
  if (result != X509_V_OK)
    problem = X509_verify_cert_error_string(result);
  else if (X509_check_host(cert, domain.data(), domain.size(), 0, nullptr)
           != 1)
    problem = "certificate not valid for " + std::string{domain};
  X509_free(cert);
  return problem;
}

session::~session() {
  SSL_free(ssl_);
}

bool session::feed(const char* data, size_t len, std::string& plain) {
  while (len > 0) {
    auto n = BIO_write(in_, data, static_cast<int>(len));
    if (n <= 0) {
      error_ = "BIO_write failed";
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return pump(plain);
}

bool session::pump(std::string& plain) {
  char buf[4096];
  for (;;) {
    auto n = SSL_read(ssl_, buf, sizeof(buf));
    if (n > 0) {
      plain.append(buf, static_cast<size_t>(n));
      continue;
    }
    auto err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
      return true;
    if (err == SSL_ERROR_ZERO_RETURN) {
      error_ = "closed by peer";
      return false;
    }
    error_ = last_ssl_error();
    return false;
  }
}

bool session::write(std::string_view plain) {
  while (!plain.empty()) {
    auto n = SSL_write(ssl_, plain.data(), static_cast<int>(plain.size()));
    if (n <= 0) {
      error_ = last_ssl_error();
      return false;
    }
    plain.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void session::take_output(std::vector<char>& out) {
  char* data = nullptr;
  auto n = BIO_get_mem_data(out_, &data);
  if (n > 0) {
    out.insert(out.end(), data, data + n);
    (void) BIO_reset(out_);
  }
}

void session::release_buffers() {
  if (!handshake_done() || BIO_ctrl_pending(in_) != 0
      || BIO_ctrl_pending(out_) != 0)
    return;
  auto in = BIO_new(BIO_s_mem());
  auto out = BIO_new(BIO_s_mem());
  if (in == nullptr || out == nullptr) {
    BIO_free(in);
    BIO_free(out);
    return;
  }
  BIO_set_mem_eof_return(in, -1);
  // The SSL owns its BIOs: set0 frees the old ones.
  SSL_set0_rbio(ssl_, in);
  SSL_set0_wbio(ssl_, out);
  in_ = in;
  out_ = out;
}

void session::shutdown() {
  if (handshake_done())
    SSL_shutdown(ssl_);
  ERR_clear_error();
}

bool session::handshake_done() const {
  return SSL_is_init_finished(ssl_) == 1;
}

std::string session::server_name() const {
  auto name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name ? name : "";
}

std::string session::version() const {
  return SSL_get_version(ssl_);
}

} // namespace dja::tls
