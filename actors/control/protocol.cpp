// The line protocol of the control channel (protocol.hpp).

#include "control/protocol.hpp"

namespace dja::control {

namespace {

bool is_control(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

} // namespace

parsed_request parse_request(std::string_view line) {
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  if (line.size() + 1 > max_request)
    return {std::nullopt, "request longer than "
                            + std::to_string(max_request) + " bytes"};
  request r;
  size_t words = 0;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ') {
      ++i;
      continue;
    }
    auto end = line.find(' ', i);
    if (end == std::string_view::npos)
      end = line.size();
    auto word = line.substr(i, end - i);
    for (auto c : word)
      if (is_control(c))
        return {std::nullopt, "control character in the request"};
    if (++words > max_words)
      return {std::nullopt, "more than " + std::to_string(max_words)
                              + " words in the request"};
    if (words == 1)
      r.command = std::string{word};
    else
      r.args.emplace_back(word);
    i = end;
  }
  if (words == 0)
    return {std::nullopt, "empty request (try `help`)"};
  return {std::move(r), {}};
}

std::string format_request(const std::vector<std::string>& words) {
  if (words.empty() || words.size() > max_words)
    return {};
  std::string out;
  for (auto& w : words) {
    if (w.empty())
      return {};
    for (auto c : w)
      if (c == ' ' || is_control(c))
        return {};
    if (!out.empty())
      out += ' ';
    out += w;
  }
  out += '\n';
  return out.size() > max_request ? std::string{} : out;
}

line_reader::status line_reader::feed(std::string_view bytes) {
  if (complete_)
    return status::complete;
  auto lf = bytes.find('\n');
  line_.append(bytes.substr(0, lf));
  // The LF counts: a line of max_request bytes with it is the longest.
  if (line_.size() + 1 > max_request)
    return status::too_long;
  if (lf == std::string_view::npos)
    return status::more;
  complete_ = true;
  return status::complete;
}

std::string encode(const response& r) {
  std::string out = r.ok ? "ok\n" : "error\n";
  out += r.text;
  if (!r.text.empty() && r.text.back() != '\n')
    out += '\n';
  if (out.size() > max_response) {
    constexpr std::string_view cut = "... (cut: longer than the bound of "
                                     "a response)\n";
    out.resize(max_response - cut.size());
    auto lf = out.rfind('\n');
    out.resize(lf == std::string::npos ? 0 : lf + 1);
    out += cut;
  }
  return out;
}

std::optional<response> decode(std::string_view bytes) {
  auto lf = bytes.find('\n');
  if (lf == std::string_view::npos)
    return std::nullopt;
  auto status = bytes.substr(0, lf);
  if (status != "ok" && status != "error")
    return std::nullopt;
  return response{status == "ok", std::string{bytes.substr(lf + 1)}};
}

} // namespace dja::control
