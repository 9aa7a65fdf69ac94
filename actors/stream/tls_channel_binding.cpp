// Channel bindings of a TLS session, for SCRAM-*-PLUS (RFC 5802 §6):
// tls-unique (RFC 5929 §3), tls-server-end-point (RFC 5929 §4) and
// tls-exporter (RFC 9266), each only where its RFC defines it.

#include "stream/tls.hpp"

#include <algorithm>

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace dja::tls {

namespace {

/// RFC 5929 §3.1: "the first TLS Finished message sent (note: the Finished
/// struct, not the TLS record layer message containing it) in the most
/// recent TLS handshake of the TLS connection being bound to". In a full
/// handshake the client sends its Finished first; in an abbreviated one
/// (resumption) the server does. So on the server side that is the peer's
/// Finished for a full handshake and our own for a resumed one, and the
/// other way round on the client side (outgoing s2s).
std::string tls_unique(SSL* ssl) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  bool ours_first = (SSL_is_server(ssl) == 1) == (SSL_session_reused(ssl) == 1);
  auto n = ours_first ? SSL_get_finished(ssl, buf, sizeof(buf))
                      : SSL_get_peer_finished(ssl, buf, sizeof(buf));
  if (n == 0 || n > sizeof(buf))
    return {};
  return std::string(reinterpret_cast<char*>(buf), n);
}

/// RFC 9266 §2: the TLS exporter with the label "EXPORTER-Channel-Binding",
/// an empty context value and 32 bytes. On TLS 1.2 (RFC 5705 §4) an empty
/// context differs from none, so use_context is 1.
std::string tls_exporter(SSL* ssl) {
  unsigned char out[32];
  static constexpr char label[] = "EXPORTER-Channel-Binding";
  if (SSL_export_keying_material(ssl, out, sizeof(out), label,
                                 sizeof(label) - 1, nullptr, 0, 1)
      != 1)
    return {};
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

/// RFC 5929 §4.1: the hash of our certificate, with the hash function of
/// its signature algorithm, SHA-256 if that is MD5 or SHA-1 (or none,
/// e.g. Ed25519).
std::string tls_server_end_point(SSL* ssl) {
  auto cert = SSL_get_certificate(ssl);
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

} // namespace

std::vector<std::string_view> session::channel_binding_types() const {
  std::vector<std::string_view> out;
  if (!handshake_done())
    return out;
  bool tls13 = SSL_version(ssl_) >= TLS1_3_VERSION;
  // The extended master secret (RFC 7627) makes a TLS 1.2 master secret
  // unique to its handshake.
  bool ems = SSL_get_extms_support(ssl_) == 1;
  // RFC 9266 §2: "defined only when the TLS handshake results in unique
  // master secrets": always on TLS 1.3, on 1.2 with the extended master
  // secret.
  if (tls13 || ems)
    out.emplace_back("tls-exporter");
  // tls-unique is undefined on TLS 1.3 (RFC 8446 §C.5, RFC 9266 §1). On
  // 1.2 the triple-handshake attack (RFC 7627 §1) gives two connections
  // the same Finished after a resumption without the extended master
  // secret. We never resume (no session cache, no tickets, tls.cpp), so
  // this only guards a later change.
  if (!tls13 && (ems || SSL_session_reused(ssl_) != 1))
    out.emplace_back("tls-unique");
  if (SSL_get_certificate(ssl_) != nullptr && SSL_is_server(ssl_) == 1)
    out.emplace_back("tls-server-end-point");
  return out;
}

std::string session::channel_binding(std::string_view type) const {
  auto types = channel_binding_types();
  if (std::find(types.begin(), types.end(), type) == types.end())
    return {};
  if (type == "tls-exporter")
    return tls_exporter(ssl_);
  if (type == "tls-unique")
    return tls_unique(ssl_);
  return tls_server_end_point(ssl_);
}

} // namespace dja::tls
