#include "common/scram.hpp"

#include <vector>

#include "common/base64.hpp"

namespace dja::scram {

namespace {

// --- RFC 5802 §7 grammar pieces ----------------------------------------------

/// Splits on ','; empty fields are kept (and rejected by the callers). No
/// SCRAM value may contain a ',' (saslnames escape it as =2C), so this is
/// exact.
std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  for (;;) {
    auto comma = s.find(',', pos);
    if (comma == std::string_view::npos) {
      out.push_back(s.substr(pos));
      return out;
    }
    out.push_back(s.substr(pos, comma - pos));
    pos = comma + 1;
  }
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF)
/// without NUL and without ','.
bool valid_value_chars(std::string_view s) {
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  while (i < s.size()) {
    auto c = byte(i);
    if (c == 0 || c == ',')
      return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; // range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0)
        lo = 0xA0;
      else if (c == 0xED)
        hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0)
        lo = 0x90;
      else if (c == 0xF4)
        hi = 0x8F;
    } else {
      return false;
    }
    if (i + n >= s.size()) // truncated sequence
      return false;
    if (byte(i + 1) < lo || byte(i + 1) > hi)
      return false;
    for (size_t k = 2; k <= n; ++k)
      if (byte(i + k) < 0x80 || byte(i + k) > 0xBF)
        return false;
    i += n + 1;
  }
  return true;
}

/// saslname = 1*(value-safe-char / "=2C" / "=3D"), decoded.
std::optional<std::string> decode_saslname(std::string_view s) {
  if (s.empty() || !valid_value_chars(s))
    return std::nullopt;
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out += s[i];
      continue;
    }
    auto esc = s.substr(i + 1, 2);
    if (esc == "2C")
      out += ',';
    else if (esc == "3D")
      out += '=';
    else
      return std::nullopt;
    i += 2;
  }
  return out;
}

/// c-nonce = printable = %x21-2B / %x2D-7E.
bool valid_nonce(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (c < 0x21 || c > 0x7E || c == ',')
      return false;
  return true;
}

/// cb-name = 1*(ALPHA / DIGIT / "." / "-").
bool valid_cb_name(std::string_view s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!is_alpha(c) && !is_digit(c) && c != '.' && c != '-')
      return false;
  return true;
}

/// attr-val = ALPHA "=" value; value = 1*value-char (value-char allows
/// '=').
bool valid_attr_val(std::string_view s) {
  return s.size() >= 3 && is_alpha(s[0]) && s[1] == '='
         && valid_value_chars(s.substr(2));
}

enum class ext_check { ok, malformed, mandatory };

/// An extension attribute after the defined ones: well-formed, not 'm'
/// (RFC 5802 §5.1: a server that does not know a mandatory extension MUST
/// fail), not a repeat of an attribute with a defined meaning.
ext_check check_extension(std::string_view field) {
  if (!valid_attr_val(field))
    return ext_check::malformed;
  switch (field[0]) {
    case 'm':
      return ext_check::mandatory;
    case 'a':
    case 'n':
    case 'r':
    case 'c':
    case 's':
    case 'i':
    case 'p':
    case 'v':
    case 'e':
      return ext_check::malformed;
    default:
      return ext_check::ok;
  }
}

std::string xor_bytes(std::string_view a, std::string_view b) {
  std::string out(a.size(), '\0');
  for (size_t i = 0; i < a.size(); ++i)
    out[i] = static_cast<char>(a[i] ^ b[i]);
  return out;
}

/// The key for fake salts: random per process, so a fake salt is stable
/// for a user name while the process runs and unpredictable outside.
const std::string& fake_secret() {
  static const std::string secret = crypto::random_bytes(32);
  return secret;
}

constexpr uint32_t fake_iterations = 4096;
constexpr size_t fake_salt_size = 16;
constexpr size_t server_nonce_bytes = 24;

} // namespace

// --- free functions ------------------------------------------------------------

std::string mechanism_name(hash_fn h, bool plus) {
  std::string out = "SCRAM-";
  out += crypto::name(h);
  if (plus)
    out += "-PLUS";
  return out;
}

std::optional<mechanism> parse_mechanism(std::string_view name) {
  constexpr std::string_view prefix = "SCRAM-";
  constexpr std::string_view suffix = "-PLUS";
  if (!starts_with(name, prefix))
    return std::nullopt;
  name.remove_prefix(prefix.size());
  bool plus = false;
  if (name.size() > suffix.size()
      && name.substr(name.size() - suffix.size()) == suffix) {
    plus = true;
    name.remove_suffix(suffix.size());
  }
  auto h = crypto::hash_from_name(name);
  if (!h)
    return std::nullopt;
  return mechanism{*h, plus};
}

credentials derive(hash_fn h, std::string_view password,
                                std::string salt, uint32_t iterations) {
  // Normalize(password): SASLprep is optional for us; the bytes as they are.
  auto salted = crypto::pbkdf2(h, password, salt, iterations);
  auto client_key = crypto::hmac(h, salted, "Client Key");
  credentials out;
  out.found = true;
  out.salt = std::move(salt);
  out.iterations = iterations;
  out.stored_key = crypto::digest(h, client_key);
  out.server_key = crypto::hmac(h, salted, "Server Key");
  return out;
}

// --- server_exchange -----------------------------------------------------------

server_exchange::server_exchange(hash_fn mech, bool plus, std::string cb_type,
                                 std::string cb_data, bool plus_offered)
  : hash_(mech),
    plus_(plus),
    cb_type_(std::move(cb_type)),
    cb_data_(std::move(cb_data)),
    plus_offered_(plus_offered) {
  // Nothing to bind to without both parts.
  if (cb_type_.empty() || cb_data_.empty()) {
    cb_type_.clear();
    cb_data_.clear();
  }
}

server_exchange::step server_exchange::fail(std::string condition,
                                            std::string reason) {
  state_ = state::done;
  return {step::failure, std::move(condition), std::move(reason)};
}

server_exchange::step server_exchange::client_first(std::string_view msg) {
  if (state_ != state::start)
    return fail("malformed-request", "client-first-message out of sequence");
  // client-first-message = gs2-header client-first-message-bare
  // gs2-header = gs2-cbind-flag "," [ authzid ] ","
  // client-first-message-bare = [reserved-mext ","] username "," nonce
  //                             ["," extensions]
  auto fields = split(msg);
  if (fields.size() < 4)
    return fail("malformed-request", "too few attributes");
  // gs2-cbind-flag = ("p=" cb-name) / "n" / "y"
  std::string_view cb_name;
  auto flag = fields[0];
  if (flag == "n" || flag == "y") {
    cb_flag_ = flag[0];
  } else if (starts_with(flag, "p=") && valid_cb_name(flag.substr(2))) {
    cb_flag_ = 'p';
    cb_name = flag.substr(2);
  } else {
    return fail("malformed-request", "bad gs2-cbind-flag");
  }
  // authzid = "a=" saslname
  if (!fields[1].empty()) {
    if (!starts_with(fields[1], "a="))
      return fail("malformed-request", "bad authzid");
    auto a = decode_saslname(fields[1].substr(2));
    if (!a)
      return fail("malformed-request", "bad authzid");
    authzid_ = std::move(*a);
  }
  auto header_size = fields[0].size() + fields[1].size() + 2;
  gs2_header_ = std::string{msg.substr(0, header_size)};
  client_first_bare_ = std::string{msg.substr(header_size)};
  size_t i = 2;
  if (starts_with(fields[i], "m="))
    return fail("malformed-request", "extensions-not-supported");
  // username = "n=" saslname
  if (!starts_with(fields[i], "n="))
    return fail("malformed-request", "username expected");
  auto user = decode_saslname(fields[i].substr(2));
  if (!user)
    return fail("malformed-request", "bad username");
  username_ = std::move(*user);
  ++i;
  // nonce = "r=" c-nonce
  if (i >= fields.size() || !starts_with(fields[i], "r=")
      || !valid_nonce(fields[i].substr(2)))
    return fail("malformed-request", "bad nonce");
  nonce_ = std::string{fields[i].substr(2)};
  for (++i; i < fields.size(); ++i) {
    switch (check_extension(fields[i])) {
      case ext_check::ok:
        break; // ignored
      case ext_check::mandatory:
        return fail("malformed-request", "extensions-not-supported");
      case ext_check::malformed:
        return fail("malformed-request", "bad extension");
    }
  }
  // Channel binding (RFC 5802 §6, RFC 5801 §5): 'p' if and only if -PLUS.
  switch (cb_flag_) {
    case 'n':
      if (plus_)
        return fail("malformed-request", "flag 'n' with a -PLUS mechanism");
      break;
    case 'y':
      if (plus_)
        return fail("malformed-request", "flag 'y' with a -PLUS mechanism");
      if (plus_offered_)
        // The client saw no -PLUS mechanism though we offered some: a
        // man in the middle stripped them.
        return fail("not-authorized", "server-does-support-channel-binding");
      break;
    case 'p':
      if (!plus_)
        return fail("malformed-request",
                    "flag 'p' without a -PLUS mechanism");
      if (cb_type_.empty() || cb_name != cb_type_)
        return fail("not-authorized", "unsupported-channel-binding-type");
      break;
  }
  state_ = state::await_credentials;
  return {step::need_credentials, {}, {}};
}

server_exchange::step
server_exchange::credentials(const scram::credentials& creds) {
  if (state_ != state::await_credentials)
    return fail("malformed-request", "credentials out of sequence");
  std::string salt;
  uint32_t iterations;
  if (creds.found) {
    auto size = crypto::digest_size(hash_);
    if (creds.salt.empty() || creds.iterations == 0
        || creds.stored_key.size() != size || creds.server_key.size() != size)
      return fail("temporary-auth-failure", "unusable stored credentials");
    salt = creds.salt;
    iterations = creds.iterations;
    stored_key_ = creds.stored_key;
    server_key_ = creds.server_key;
  } else {
    // No such user: carry on with credentials that look real and fail at
    // the proof. The salt is stable per user name (as a real one would be)
    // and depends on a per-process secret.
    std::string label = crypto::name(hash_);
    label += '\0';
    label += username_;
    salt = crypto::hmac(hash_fn::sha256, fake_secret(), label)
             .substr(0, fake_salt_size);
    iterations = fake_iterations;
    auto size = crypto::digest_size(hash_);
    stored_key_ = crypto::random_bytes(size);
    server_key_ = crypto::random_bytes(size);
    fake_ = true;
  }
  if (server_nonce_.empty())
    server_nonce_ = base64::encode(crypto::random_bytes(server_nonce_bytes));
  nonce_ += server_nonce_;
  // server-first-message = [reserved-mext ","] nonce "," salt ","
  //                        iteration-count ["," extensions]
  server_first_ = "r=" + nonce_ + ",s=" + base64::encode(salt)
                  + ",i=" + std::to_string(iterations);
  state_ = state::await_final;
  return {step::challenge, server_first_, {}};
}

server_exchange::step server_exchange::client_final(std::string_view msg) {
  if (state_ != state::await_final)
    return fail("malformed-request", "client-final-message out of sequence");
  // client-final-message-without-proof = channel-binding "," nonce
  //                                      ["," extensions]
  // client-final-message = client-final-message-without-proof "," proof
  auto fields = split(msg);
  if (fields.size() < 3)
    return fail("malformed-request", "too few attributes");
  auto c = fields.front();
  auto r = fields[1];
  auto p = fields.back();
  if (!starts_with(c, "c=") || !starts_with(r, "r=") || !starts_with(p, "p="))
    return fail("malformed-request", "c=, r= and p= expected");
  for (size_t i = 2; i + 1 < fields.size(); ++i) {
    switch (check_extension(fields[i])) {
      case ext_check::ok:
        break; // ignored
      case ext_check::mandatory:
        return fail("malformed-request", "extensions-not-supported");
      case ext_check::malformed:
        return fail("malformed-request", "bad extension");
    }
  }
  auto cbind_input = base64::decode(c.substr(2));
  if (!cbind_input || cbind_input->empty())
    return fail("malformed-request", "invalid-encoding");
  auto proof = base64::decode(p.substr(2));
  if (!proof || proof->empty())
    return fail("malformed-request", "invalid-encoding");
  if (!valid_nonce(r.substr(2)))
    return fail("malformed-request", "bad nonce");
  // c= is base64(gs2-header [cbind-data]): the header of the first message
  // and, for 'p', the channel binding of this connection.
  auto expected_cbind = gs2_header_;
  if (cb_flag_ == 'p')
    expected_cbind += cb_data_;
  if (!crypto::equal(*cbind_input, expected_cbind))
    return fail("not-authorized", "channel-bindings-dont-match");
  if (r.substr(2) != nonce_)
    return fail("not-authorized", "nonce mismatch");
  if (proof->size() != crypto::digest_size(hash_))
    return fail("not-authorized", "invalid-proof");
  // AuthMessage = client-first-message-bare + "," + server-first-message
  //               + "," + client-final-message-without-proof
  auto without_proof = msg.substr(0, msg.size() - p.size() - 1);
  std::string auth_message = client_first_bare_;
  auth_message += ',';
  auth_message += server_first_;
  auth_message += ',';
  auth_message += without_proof;
  auto client_signature = crypto::hmac(hash_, stored_key_, auth_message);
  auto client_key = xor_bytes(*proof, client_signature);
  bool good = crypto::equal(crypto::digest(hash_, client_key), stored_key_);
  if (!good || fake_)
    return fail("not-authorized", "invalid-proof");
  auto server_signature = crypto::hmac(hash_, server_key_, auth_message);
  state_ = state::done;
  return {step::success, "v=" + base64::encode(server_signature), {}};
}

} // namespace dja::scram
