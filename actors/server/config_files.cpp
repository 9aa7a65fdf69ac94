// Checks of the files a configuration names, so that --check-config
// finds what the start would trip over (with FILE:LINE: KEY): a vhost's
// certificate and key (PEM that parses, a key that belongs to the
// certificate) and a data_dir that can be created.

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

namespace dja::config::detail {

namespace {

struct file_closer {
  void operator()(std::FILE* f) const {
    std::fclose(f);
  }
};

using file_ptr = std::unique_ptr<std::FILE, file_closer>;

} // namespace

/// What is wrong with a certificate chain and its private key (both PEM
/// files, readable), or "" when they are a pair.
std::string pem_pair_error(const std::string& cert, const std::string& key,
                           bool& key_at_fault) {
  key_at_fault = false;
  file_ptr cf{std::fopen(cert.c_str(), "r")};
  if (!cf)
    return "a readable PEM file (cannot read \"" + cert + "\")";
  std::unique_ptr<X509, decltype(&X509_free)> x509{
    PEM_read_X509(cf.get(), nullptr, nullptr, nullptr), X509_free};
  ERR_clear_error();
  if (!x509)
    return "a PEM certificate (no certificate in \"" + cert + "\")";
  key_at_fault = true;
  file_ptr kf{std::fopen(key.c_str(), "r")};
  if (!kf)
    return "a readable PEM file (cannot read \"" + key + "\")";
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey{
    PEM_read_PrivateKey(kf.get(), nullptr, nullptr, nullptr), EVP_PKEY_free};
  ERR_clear_error();
  if (!pkey)
    return "a PEM private key, unencrypted (none in \"" + key + "\")";
  if (X509_check_private_key(x509.get(), pkey.get()) != 1) {
    ERR_clear_error();
    return "the private key of tls_cert (\"" + key
           + "\" does not belong to \"" + cert + "\")";
  }
  return {};
}

/// What prevents creating (or using) `dir` as a data directory, or "".
std::string dir_error(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::absolute(dir, ec);
  if (ec)
    return "a directory that can be created (" + ec.message() + ")";
  // The directory itself or the nearest ancestor that exists.
  while (!fs::exists(p, ec)) {
    if (!p.has_parent_path() || p.parent_path() == p)
      break;
    p = p.parent_path();
  }
  if (!fs::is_directory(p, ec))
    return "a directory that can be created (\"" + p.string()
           + "\" is not a directory)";
  if (::access(p.c_str(), W_OK | X_OK) != 0)
    return "a directory that can be created (\"" + p.string()
           + "\" is not writable)";
  return {};
}

} // namespace dja::config::detail
