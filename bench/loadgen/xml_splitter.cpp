#include "xml_splitter.hpp"

#include <cstring>

namespace lg {

void xml_splitter::reset() {
  buf_.clear();
  pos_ = consumed_ = head_end_ = 0;
  start_ = npos;
  depth_ = 0;
  stanza_ = head_ = {};
  error_ = nullptr;
}

void xml_splitter::feed(const char* data, size_t n) {
  if (consumed_ > 0) { // drop what the previous next() calls finished with
    buf_.erase(0, consumed_);
    pos_ -= consumed_;
    if (start_ != npos) {
      start_ -= consumed_;
      head_end_ -= consumed_;
    }
    consumed_ = 0;
  }
  buf_.append(data, n);
}

xml_splitter::event xml_splitter::fail(const char* why) {
  error_ = why;
  return event::error;
}

size_t xml_splitter::tag_end(size_t from) const {
  char quote = 0;
  for (size_t i = from; i < buf_.size(); ++i) {
    char c = buf_[i];
    if (quote) {
      if (c == quote)
        quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      return i;
    }
  }
  return npos;
}

xml_splitter::event xml_splitter::next() {
  if (error_)
    return event::error;
  for (;;) {
    if (start_ == npos)
      consumed_ = pos_;
    else if (buf_.size() - start_ > max_stanza)
      return fail("stanza larger than 4 MiB");
    if (pos_ >= buf_.size())
      return event::need_more;

    if (buf_[pos_] != '<') { // character data: skip to the next tag
      auto* p = static_cast<const char*>(
        std::memchr(buf_.data() + pos_, '<', buf_.size() - pos_));
      pos_ = p ? size_t(p - buf_.data()) : buf_.size();
      continue;
    }
    if (buf_.size() - pos_ < 2)
      return event::need_more;
    std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);

    // Declarations, comments, CDATA: skip whole.
    const char* skip_to = nullptr;
    if (rest[1] == '?') {
      skip_to = "?>";
    } else if (rest[1] == '!') {
      if (rest.size() < 9)
        return event::need_more;
      if (rest.compare(0, 4, "<!--") == 0)
        skip_to = "-->";
      else if (rest.compare(0, 9, "<![CDATA[") == 0)
        skip_to = "]]>";
      else
        return fail("DTD or unknown markup");
    }
    if (skip_to) {
      auto e = rest.find(skip_to, 2);
      if (e == std::string_view::npos)
        return event::need_more;
      pos_ += e + std::strlen(skip_to);
      continue;
    }

    size_t end = tag_end(pos_ + 1);
    if (end == npos)
      return event::need_more;
    size_t tag_start = pos_;
    pos_ = end + 1;
    bool closing = buf_[tag_start + 1] == '/';
    bool empty = !closing && buf_[end - 1] == '/';

    if (closing) {
      if (depth_ <= 1) { // </stream:stream>
        depth_ = 0;
        return event::stream_close;
      }
      if (--depth_ == 1) {
        stanza_ = std::string_view(buf_.data() + start_, pos_ - start_);
        head_ = std::string_view(buf_.data() + start_, head_end_ - start_);
        start_ = npos;
        return event::stanza;
      }
      continue;
    }
    if (depth_ == 0) { // the stream header
      head_ = std::string_view(buf_.data() + tag_start, pos_ - tag_start);
      if (local_name(head_) != "stream")
        return fail("stream does not start with <stream>");
      depth_ = 1;
      return event::stream_open;
    }
    if (depth_ == 1) {
      start_ = tag_start;
      head_end_ = pos_;
      if (empty) {
        stanza_ = head_ = std::string_view(buf_.data() + start_, pos_ - start_);
        start_ = npos;
        return event::stanza;
      }
    }
    if (!empty)
      ++depth_;
  }
}

// --- helpers -----------------------------------------------------------------

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool ends_name(char c) { return is_space(c) || c == '/' || c == '>'; }

std::string_view local_name(std::string_view head) {
  size_t i = 1, start = 1;
  while (i < head.size() && !ends_name(head[i])) {
    if (head[i] == ':')
      start = i + 1;
    ++i;
  }
  return head.substr(start, i - start);
}

std::string_view attr(std::string_view head, std::string_view name) {
  for (size_t i = head.find(name); i != std::string_view::npos;
       i = head.find(name, i + 1)) {
    if (i == 0 || !is_space(head[i - 1]))
      continue;
    size_t j = i + name.size();
    while (j < head.size() && is_space(head[j]))
      ++j;
    if (j >= head.size() || head[j] != '=')
      continue;
    ++j;
    while (j < head.size() && is_space(head[j]))
      ++j;
    if (j >= head.size() || (head[j] != '\'' && head[j] != '"'))
      continue;
    size_t close = head.find(head[j], j + 1);
    if (close == std::string_view::npos)
      return {};
    return head.substr(j + 1, close - j - 1);
  }
  return {};
}

std::string_view child_text(std::string_view element, std::string_view name) {
  size_t body = element.find('>'); // skip the element's own start tag
  if (body == std::string_view::npos)
    return {};
  for (size_t i = element.find('<', body); i != std::string_view::npos;
       i = element.find('<', i + 1)) {
    if (element.compare(i + 1, name.size(), name) != 0
        || i + 1 + name.size() >= element.size()
        || !ends_name(element[i + 1 + name.size()]))
      continue;
    size_t gt = element.find('>', i);
    if (gt == std::string_view::npos || element[gt - 1] == '/')
      return {};
    size_t lt = element.find('<', gt);
    if (lt == std::string_view::npos)
      return {};
    return element.substr(gt + 1, lt - gt - 1);
  }
  return {};
}

std::string_view first_child(std::string_view element) {
  size_t body = element.find('>');
  if (body == std::string_view::npos || element[body - 1] == '/')
    return {};
  for (size_t i = element.find('<', body); i != std::string_view::npos;
       i = element.find('<', i + 1)) {
    if (i + 1 < element.size() && element[i + 1] != '/' && element[i + 1] != '!'
        && element[i + 1] != '?')
      return local_name(element.substr(i));
  }
  return {};
}

} // namespace lg
