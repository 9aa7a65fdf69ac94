// The Prometheus text format 0.0.4 (exposition.hpp).

#include "metrics/exposition.hpp"

#include <charconv>
#include <cmath>

namespace dja::metrics {

std::string escape(std::string_view s, bool quote) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quote)
      out += "\\\"";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

void exposition::family(std::string_view name, type t,
                        std::string_view help) {
  name_ = name;
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape(help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += t == type::counter ? " counter\n"
          : t == type::gauge ? " gauge\n"
                             : " histogram\n";
}

void exposition::line(std::string_view suffix, const labels& ls,
                      const label* extra, std::string_view value) {
  out_ += name_;
  out_ += suffix;
  if (!ls.empty() || extra != nullptr) {
    out_ += '{';
    bool first = true;
    auto put = [&](const label& l) {
      if (!first)
        out_ += ',';
      first = false;
      out_ += l.first;
      out_ += "=\"";
      out_ += escape(l.second, true);
      out_ += '"';
    };
    for (auto& l : ls)
      put(l);
    if (extra != nullptr)
      put(*extra);
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void exposition::sample(const labels& ls, int64_t value) {
  line({}, ls, nullptr, std::to_string(value));
}

void exposition::sample(const labels& ls, double value) {
  line({}, ls, nullptr, format_value(value));
}

void exposition::sample(const labels& ls, const histogram_sum& h) {
  int64_t cumulative = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    auto le = i < bounds_s.size() ? format_value(bounds_s[i])
                                  : std::string{"+Inf"};
    label l{"le", le};
    line("_bucket", ls, &l, std::to_string(cumulative));
  }
  line("_sum", ls, nullptr, format_value(static_cast<double>(h.sum_ns) / 1e9));
  line("_count", ls, nullptr, std::to_string(cumulative));
}

} // namespace dja::metrics
