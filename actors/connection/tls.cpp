#include "connection/tls.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

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
  // Idle connections keep their memory small (DESIGN §8a): buffers are
  // released between reads, no session cache, no tickets.
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

} // namespace

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

std::string session::channel_binding(std::string_view type) const {
  if (!handshake_done())
    return {};
  if (type == "tls-exporter") {
    // RFC 9266: only defined for TLS 1.3 (or 1.2 with extended master
    // secret; we keep it to 1.3).
    if (SSL_version(ssl_) < TLS1_3_VERSION)
      return {};
    unsigned char out[32];
    static constexpr char label[] = "EXPORTER-Channel-Binding";
    if (SSL_export_keying_material(ssl_, out, sizeof(out), label,
                                   sizeof(label) - 1, nullptr, 0, 1)
        != 1)
      return {};
    return std::string(reinterpret_cast<char*>(out), sizeof(out));
  }
  if (type == "tls-server-end-point") {
    // RFC 5929 §4.1: hash of our certificate with its signature's hash
    // (SHA-256 for MD5/SHA-1).
    auto cert = SSL_get_certificate(ssl_);
    if (cert == nullptr)
      return {};
    int md_nid = 0;
    if (X509_get_signature_info(cert, &md_nid, nullptr, nullptr, nullptr) != 1)
      return {};
    auto md = md_nid == NID_md5 || md_nid == NID_sha1 || md_nid == NID_undef
                ? EVP_sha256()
                : EVP_get_digestbynid(md_nid);
    if (md == nullptr)
      md = EVP_sha256();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, md, out, &len) != 1)
      return {};
    return std::string(reinterpret_cast<char*>(out), len);
  }
  return {};
}

} // namespace dja::tls
