#include "toml_depth.h"

#include <vector>

namespace synoverlay {
namespace {

constexpr std::size_t kNone = std::string_view::npos;

bool non_ascii(char c) { return static_cast<unsigned char>(c) >= 0x80; }

bool blank(char c) { return c == ' ' || c == '\t'; }

bool bare_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Where a bare value (number, boolean, date, or a mistake) ends: at a byte that toml++
// takes for the end of a value. A quote is no such byte: it belongs to the value.
bool ends_bare_value(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == ']' ||
         c == '}' || c == ',' || c == '#';
}

// Skips the string starting at `i` (a quote character) the way toml++ reads it and
// returns the offset just past it. An unterminated string runs to the end of its line, or
// of the file when it is a multi-line one; the parser reports it. After a backslash in a
// multi-line basic string toml++ asks whether the next character is white space, and so on
// up to the first that is not: the offset of a non-ASCII one it asks about goes to
// `*stray`.
std::size_t skip_string(std::string_view text, std::size_t i, std::size_t* stray = nullptr) {
  const char quote = text[i];
  const bool multi = text.substr(i, 3) == std::string_view(quote == '"' ? "\"\"\"" : "'''");
  std::size_t pos = i + (multi ? 3 : 1);
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == quote) {
      if (!multi) return pos + 1;
      // A run of three to five quotes closes the string; the ones before the last three
      // belong to it. One or two are part of the text.
      std::size_t run = 1;
      while (run < 5 && pos + run < text.size() && text[pos + run] == quote) ++run;
      if (run >= 3) return pos + run;
      pos += run;
      continue;
    }
    if (c == '\n' && !multi) return pos;
    if (c == '\\' && quote == '"') {
      ++pos;
      if (pos >= text.size()) return pos;
      if (!multi) {
        if (text[pos] != '\n') ++pos;  // a backslash before a line break is an error there
        continue;
      }
      // A line-ending backslash (or a mistaken one): toml++ skips the white space after it,
      // and looks at the first other character as possible white space too.
      std::size_t next = pos;
      while (next < text.size() &&
             (blank(text[next]) || text[next] == '\r' || text[next] == '\n')) {
        ++next;
      }
      if (next < text.size() && non_ascii(text[next]) && stray != nullptr && *stray == kNone) {
        *stray = next;
      }
      pos = next == pos ? pos + 1 : next;  // past the escaped character, or the white space
      continue;
    }
    ++pos;
  }
  return pos;
}

// Follows TOML's structure the way toml++ 3.3 reads it, to find the first non-ASCII byte
// that the parser would read outside a string or comment. Quotes open strings only where
// a key or a value begins; a quote anywhere else is an ordinary byte. At anything that
// does not fit TOML's structure the parser stops with an error, but where exactly it
// stops is its own business: from there on every non-ASCII byte counts, in quotes and
// comments too.
class StrayScan {
 public:
  explicit StrayScan(std::string_view text) : text_(text) {}

  std::optional<std::size_t> run() {
    // A byte-order mark opens the file legitimately.
    if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
    while (pos_ < text_.size() && found_ == kNone) {
      switch (state_) {
        case State::line:
          line();
          break;
        case State::key:
          key();
          break;
        case State::after_key:
          after_key();
          break;
        case State::value:
          value();
          break;
        case State::after_value:
          after_value();
          break;
        case State::array_item:
          array_item();
          break;
        case State::inline_item:
          inline_item();
          break;
        case State::after_header:
          after_header();
          break;
        case State::lost:
          lost();
          break;
      }
    }
    if (found_ == kNone) return std::nullopt;
    return found_;
  }

 private:
  enum class State {
    line,          // the document, between lines: blank lines, comments, keys, headers
    key,           // one part of a key begins here
    after_key,     // a part of a key has ended: '.', '=' or ']' follows
    value,         // a value begins here
    after_value,   // a value has ended, in the document, an array or an inline table
    array_item,    // inside an array: a value, ',' or ']'
    inline_item,   // inside an inline table: a key, ',' or '}'
    after_header,  // a table header has ended: the line ends
    lost,          // the text no longer fits TOML: no strings, no comments
  };
  enum class KeyOf { pair, header, array_header };
  // One open array or inline table, and what came last in it.
  enum class Last { open, comma, item };
  struct Frame {
    bool array;
    Last last;
  };

  char at(std::size_t i) const { return i < text_.size() ? text_[i] : '\0'; }

  void lose() { state_ = State::lost; }

  void skip_blanks() {
    while (pos_ < text_.size() && blank(text_[pos_])) ++pos_;
  }

  // A line break at pos_: "\n" or "\r\n". False (and lost) for a lone '\r'.
  bool line_break() {
    if (text_[pos_] == '\n') {
      ++pos_;
      return true;
    }
    if (text_[pos_] == '\r' && at(pos_ + 1) == '\n') {
      pos_ += 2;
      return true;
    }
    return false;
  }

  // A comment at pos_ ('#'), up to and with its line break.
  void comment() {
    while (pos_ < text_.size() && text_[pos_] != '\n' && text_[pos_] != '\r') ++pos_;
    if (pos_ < text_.size() && !line_break()) lose();
  }

  // A string at pos_; its end, or lost when the parser would refuse it here.
  void string(bool may_be_multi_line) {
    std::size_t start = pos_;
    pos_ = skip_string(text_, start, &found_);
    bool multi = text_.substr(start, 3) == "\"\"\"" || text_.substr(start, 3) == "'''";
    if (multi && !may_be_multi_line) lose();
  }

  // The end of a line: blanks, then a comment, a line break or the end of the file.
  void end_of_line() {
    skip_blanks();
    if (pos_ >= text_.size()) return;
    state_ = State::line;
    if (text_[pos_] == '#') {
      ++pos_;
      comment();
    } else if (!line_break()) {
      lose();
    }
  }

  void line() {
    char c = text_[pos_];
    if (blank(c)) {
      ++pos_;
    } else if (c == '#') {
      ++pos_;
      comment();
    } else if (c == '\n' || c == '\r') {
      if (!line_break()) lose();
    } else if (c == '[') {
      header();
    } else if (bare_key_char(c) || c == '"' || c == '\'') {
      key_of_ = KeyOf::pair;
      state_ = State::key;
    } else {
      lose();
    }
  }

  // "[name]" or "[[name]]": the brackets of an array of tables touch.
  void header() {
    ++pos_;
    key_of_ = KeyOf::header;
    if (at(pos_) == '[') {
      key_of_ = KeyOf::array_header;
      ++pos_;
    }
    skip_blanks();
    if (at(pos_) == '[' || at(pos_) == ']') {
      lose();
    } else {
      state_ = State::key;
    }
  }

  void key() {
    skip_blanks();
    if (pos_ >= text_.size()) return;
    char c = text_[pos_];
    if (c == '"' || c == '\'') {
      string(false);
    } else if (bare_key_char(c)) {
      while (pos_ < text_.size() && bare_key_char(text_[pos_])) ++pos_;
    } else {
      lose();
      return;
    }
    if (state_ == State::key) state_ = State::after_key;
  }

  void after_key() {
    skip_blanks();
    if (pos_ >= text_.size()) return;
    char c = text_[pos_];
    if (c == '.') {
      ++pos_;
      state_ = State::key;
    } else if (c == '=' && key_of_ == KeyOf::pair) {
      ++pos_;
      state_ = State::value;
    } else if (c == ']' && key_of_ != KeyOf::pair) {
      ++pos_;
      if (key_of_ == KeyOf::array_header) {
        if (at(pos_) != ']') {
          lose();
          return;
        }
        ++pos_;
      }
      state_ = State::after_header;
    } else {
      lose();
    }
  }

  void value() {
    skip_blanks();
    if (pos_ >= text_.size()) return;
    char c = text_[pos_];
    if (c == '"' || c == '\'') {
      string(true);
      if (state_ == State::value) state_ = State::after_value;
    } else if (c == '[' || c == '{') {
      ++pos_;
      open_.push_back({c == '[', Last::open});
      state_ = c == '[' ? State::array_item : State::inline_item;
    } else if (ends_bare_value(c)) {
      lose();
    } else {
      bare_value();
    }
  }

  // A value without quotes or brackets, up to where the parser sees it end: every byte of
  // it is read outside a string.
  void bare_value() {
    std::size_t start = pos_;
    while (pos_ < text_.size() && found_ == kNone) {
      char c = text_[pos_];
      if (non_ascii(c)) {
        found_ = pos_;
      } else if (c == ' ' && pos_ - start == 10 && text_[start + 4] == '-' &&
                 text_[start + 7] == '-' && at(pos_ + 1) >= '0' && at(pos_ + 1) <= '9') {
        // A date, a space and a time are one value. Having seen the space and a digit,
        // toml++ reads the character after the digit as part of the value whatever it is,
        // even '#', ',' or a line break, and only then looks for the value's end.
        pos_ += 2;
        if (pos_ < text_.size() && non_ascii(text_[pos_])) {
          found_ = pos_;
        } else if (pos_ < text_.size()) {
          ++pos_;
        }
      } else if (ends_bare_value(c)) {
        break;
      } else {
        ++pos_;
      }
    }
    state_ = State::after_value;
  }

  void after_value() {
    if (open_.empty()) return end_of_line();
    open_.back().last = Last::item;
    state_ = open_.back().array ? State::array_item : State::inline_item;
  }

  // Between the values of an array: blanks, line breaks and comments are allowed.
  void array_item() {
    char c = text_[pos_];
    Frame& frame = open_.back();
    if (blank(c)) {
      ++pos_;
    } else if (c == '\n' || c == '\r') {
      if (!line_break()) lose();
    } else if (c == '#') {
      ++pos_;
      comment();
    } else if (c == ',' && frame.last == Last::item) {
      frame.last = Last::comma;
      ++pos_;
    } else if (c == ']') {
      ++pos_;
      open_.pop_back();
      state_ = State::after_value;
    } else if (frame.last == Last::item) {
      lose();
    } else {
      state_ = State::value;
    }
  }

  // Between the pairs of an inline table: one line, no comments, no trailing comma.
  void inline_item() {
    char c = text_[pos_];
    Frame& frame = open_.back();
    if (blank(c)) {
      ++pos_;
    } else if (c == ',' && frame.last == Last::item) {
      frame.last = Last::comma;
      ++pos_;
    } else if (c == '}' && frame.last != Last::comma) {
      ++pos_;
      open_.pop_back();
      state_ = State::after_value;
    } else if ((bare_key_char(c) || c == '"' || c == '\'') && frame.last != Last::item) {
      key_of_ = KeyOf::pair;
      state_ = State::key;
    } else {
      lose();
    }
  }

  void after_header() { end_of_line(); }

  void lost() {
    while (pos_ < text_.size() && !non_ascii(text_[pos_])) ++pos_;
    if (pos_ < text_.size()) found_ = pos_;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t found_ = kNone;
  State state_ = State::line;
  KeyOf key_of_ = KeyOf::pair;
  std::vector<Frame> open_;  // the arrays and inline tables open at pos_, innermost last
};

}  // namespace

std::optional<std::size_t> find_stray_non_ascii(std::string_view text) {
  return StrayScan(text).run();
}

std::optional<std::size_t> find_excess_nesting(std::string_view text) {
  std::size_t brackets = 0;
  std::size_t dots = 0;  // dots in the current key or value, outside strings
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '"' || c == '\'') {
      i = skip_string(text, i);
      continue;
    }
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == '[' || c == '{') {
      if (++brackets > kMaxTomlDepth) return i;
    } else if ((c == ']' || c == '}') && brackets > 0) {
      --brackets;
    } else if (c == '.') {
      if (++dots > kMaxTomlDepth) return i;
    } else if (c == '\n' || c == '=' || c == ',') {
      dots = 0;
    }
    ++i;
  }
  return std::nullopt;
}

}  // namespace synoverlay
