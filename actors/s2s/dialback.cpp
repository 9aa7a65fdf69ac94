#include "s2s/dialback.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/crypto.hpp"

namespace dja::s2s {

namespace {

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

} // namespace

std::string dialback_key(std::string_view secret, std::string_view receiving,
                         std::string_view originating,
                         std::string_view stream_id) {
  using crypto::hash_fn;
  auto key = hex(crypto::digest(hash_fn::sha256, secret));
  std::string text;
  text.append(receiving).append(" ").append(originating).append(" ");
  text.append(stream_id);
  return hex(crypto::hmac(hash_fn::sha256, key, text));
}

std::string load_or_make_secret(const std::string& data_dir,
                                std::string& error) {
  auto path
    = (std::filesystem::path{data_dir} / "s2s_dialback_secret").string();
  if (std::ifstream in{path}; in) {
    std::string secret;
    std::getline(in, secret);
    if (secret.size() >= 16)
      return secret;
    error = path + ": too short (expected at least 16 characters)";
    return {};
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  auto secret = hex(crypto::random_bytes(32));
  auto fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    error = path + ": cannot create: " + std::strerror(errno);
    return {};
  }
  auto line = secret + "\n";
  auto ok = ::write(fd, line.data(), line.size())
            == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) {
    error = path + ": cannot write";
    return {};
  }
  return secret;
}

} // namespace dja::s2s
