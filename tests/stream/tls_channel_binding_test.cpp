// Channel bindings of tls::session (stream/tls_channel_binding.cpp): a
// client and a server session shake hands in memory on TLS 1.2 and 1.3 and
// must agree on tls-unique (RFC 5929 §3: the client's Finished of a full
// handshake, taken with different OpenSSL calls on each side) and
// tls-exporter (RFC 9266), offer each only where its RFC defines it, and
// hash the certificate for tls-server-end-point (RFC 5929 §4.1).

#define CAF_SUITE stream.tls_channel_binding
#include <caf/test/unit_test_impl.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "stream/tls.hpp"

using namespace dja;

namespace {

/// A self-signed certificate for "localhost" signed with `md`, written to
/// temporary PEM files (removed by the destructor).
struct cert_files {
  std::string cert;
  std::string key;
  std::string der; ///< the certificate, DER

  explicit cert_files(const EVP_MD* md) {
    auto pkey = EVP_EC_gen("P-256");
    auto x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pkey);
    auto name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(
                                 "localhost"),
                               -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, pkey, md);
    cert = temp_path();
    key = temp_path();
    auto f = fopen(cert.c_str(), "w");
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(key.c_str(), "w");
    PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    fclose(f);
    unsigned char* buf = nullptr;
    auto n = i2d_X509(x, &buf);
    der.assign(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
    OPENSSL_free(buf);
    X509_free(x);
    EVP_PKEY_free(pkey);
  }

  ~cert_files() {
    unlink(cert.c_str());
    unlink(key.c_str());
  }

  static std::string temp_path() {
    char name[] = "/tmp/dja-cb-XXXXXX";
    auto fd = mkstemp(name);
    close(fd);
    return name;
  }
};

std::string digest(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

/// A server and a client session after a handshake of `max_version`.
struct handshake {
  std::shared_ptr<tls::context_set> contexts;
  SSL_CTX* client_ctx = nullptr;
  std::unique_ptr<tls::session> server;
  std::unique_ptr<tls::session> client;

  handshake(const cert_files& files, int max_version, bool ems = true) {
    std::string error;
    contexts = tls::context_set::make({{"localhost", files.cert, files.key}},
                                      "", "", error);
    if (contexts == nullptr)
      CAF_FAIL(error);
    client_ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(client_ctx, max_version);
    if (!ems)
      SSL_CTX_set_options(client_ctx, SSL_OP_NO_EXTENDED_MASTER_SECRET);
    server = std::make_unique<tls::session>(contexts->default_context());
    client = std::make_unique<tls::session>(client_ctx, "localhost");
    std::string plain;
    for (int round = 0; round < 10; ++round) {
      std::vector<char> bytes;
      client->take_output(bytes);
      CAF_REQUIRE(server->feed(bytes.data(), bytes.size(), plain));
      bytes.clear();
      server->take_output(bytes);
      CAF_REQUIRE(client->feed(bytes.data(), bytes.size(), plain));
      if (server->handshake_done() && client->handshake_done())
        break;
    }
    CAF_REQUIRE(server->handshake_done() && client->handshake_done());
  }

  ~handshake() {
    server.reset();
    client.reset();
    SSL_CTX_free(client_ctx);
  }
};

std::string types_of(const tls::session& s) {
  std::string out;
  for (auto t : s.channel_binding_types())
    out += (out.empty() ? "" : ",") + std::string{t};
  return out;
}

} // namespace

CAF_TEST(TLS 1.3 has tls-exporter and tls-server-end-point but no tls-unique) {
  cert_files files{EVP_sha256()};
  handshake hs{files, TLS1_3_VERSION};
  CAF_CHECK_EQUAL(hs.server->version(), "TLSv1.3");
  CAF_CHECK_EQUAL(types_of(*hs.server), "tls-exporter,tls-server-end-point");
  CAF_CHECK(hs.server->channel_binding("tls-unique").empty());
  auto ekm = hs.server->channel_binding("tls-exporter");
  CAF_CHECK_EQUAL(ekm.size(), 32u);
  CAF_CHECK(ekm == hs.client->channel_binding("tls-exporter"));
  CAF_CHECK(hs.server->channel_binding("tls-server-end-point")
            == digest(EVP_sha256(), files.der));
  CAF_CHECK(hs.server->channel_binding("tls-foo").empty());
}

CAF_TEST(TLS 1.2: tls-unique is the client Finished on both sides) {
  cert_files files{EVP_sha256()};
  handshake hs{files, TLS1_2_VERSION};
  CAF_CHECK_EQUAL(hs.server->version(), "TLSv1.2");
  CAF_CHECK_EQUAL(types_of(*hs.server),
                  "tls-exporter,tls-unique,tls-server-end-point");
  // server: SSL_get_peer_finished; client: SSL_get_finished (its own)
  auto unique = hs.server->channel_binding("tls-unique");
  CAF_CHECK_EQUAL(unique.size(), 12u); // TLS 1.2 verify_data (RFC 5246)
  CAF_CHECK(unique == hs.client->channel_binding("tls-unique"));
  auto ekm = hs.server->channel_binding("tls-exporter");
  CAF_CHECK_EQUAL(ekm.size(), 32u);
  CAF_CHECK(ekm == hs.client->channel_binding("tls-exporter"));
}

CAF_TEST(TLS 1.2 without extended master secret: no tls-exporter) {
  cert_files files{EVP_sha256()};
  handshake hs{files, TLS1_2_VERSION, false};
  // RFC 9266 §2: tls-exporter needs unique master secrets
  CAF_CHECK_EQUAL(types_of(*hs.server), "tls-unique,tls-server-end-point");
  CAF_CHECK(hs.server->channel_binding("tls-exporter").empty());
  CAF_CHECK(hs.server->channel_binding("tls-unique")
            == hs.client->channel_binding("tls-unique"));
}

CAF_TEST(tls-server-end-point uses the signature hash) {
  cert_files files{EVP_sha384()};
  handshake hs{files, TLS1_3_VERSION};
  auto h = hs.server->channel_binding("tls-server-end-point");
  CAF_CHECK_EQUAL(h.size(), 48u);
  CAF_CHECK(h == digest(EVP_sha384(), files.der));
}
