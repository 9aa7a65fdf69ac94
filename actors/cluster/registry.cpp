// Registration of the wire messages and the TLS file check.

#include <caf/actor_system_config.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cluster/messages.hpp"
#include "cluster/node.hpp"

namespace dja::cluster {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<wire_entry>("dja.wire_entry");
  cfg.add_message_type<hello>("dja.hello");
  cfg.add_message_type<update>("dja.update");
  cfg.add_message_type<remote_stanza>("dja.remote_stanza");
  cfg.add_message_type<node_status>("dja.node_status");
  cfg.add_message_type<status_report>("dja.status_report");
}

std::string check_tls_files(const std::string& cert, const std::string& key,
                            const std::string& ca) {
  auto ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr)
    return "cannot create a TLS context";
  std::string err;
  auto why = [] {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    ERR_clear_error();
    return std::string{buf};
  };
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1)
    err = "cluster.tls_cert: not a PEM certificate: " + cert + ": " + why();
  else if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM)
           != 1)
    err = "cluster.tls_key: not a PEM private key: " + key + ": " + why();
  else if (SSL_CTX_check_private_key(ctx) != 1)
    err = "cluster.tls_key: does not belong to cluster.tls_cert: " + why();
  else if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1)
    err = "cluster.tls_ca: not a PEM CA certificate: " + ca + ": " + why();
  SSL_CTX_free(ctx);
  return err;
}

} // namespace dja::cluster
