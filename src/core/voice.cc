#include "core/voice.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace homeline::core {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSeparator(char c) { return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')'; }

// Digits of a number after its '+' (or from the start), separators dropped.
std::optional<std::string> CanonicalDigits(std::string_view s) {
  std::string out = "+";
  for (char c : s) {
    if (IsDigit(c)) {
      out += c;
    } else if (!IsSeparator(c)) {
      return std::nullopt;
    }
  }
  const std::size_t digits = out.size() - 1;
  if (digits < 7 || digits > 15 || out[1] == '0') return std::nullopt;
  return out;
}

constexpr std::array<std::uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool IsMapped(const std::uint8_t* b) { return std::memcmp(b, kMappedPrefix.data(), 12) == 0; }

// Parses an address without prefix length into p (bits = full length).
bool ParseAddressInto(std::string_view text, IpPrefix* p) {
  if (text.empty() || text.size() > 45) return false;
  const std::string s(text);
  if (s.find(':') == std::string::npos) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
    std::memcpy(p->bytes.data(), &a, 4);
    p->bits = 32;
    p->v6 = false;
    return true;
  }
  in6_addr a{};
  if (inet_pton(AF_INET6, s.c_str(), &a) != 1) return false;
  std::memcpy(p->bytes.data(), &a, 16);
  p->bits = 128;
  p->v6 = true;
  return true;
}

// IPv4-mapped IPv6 becomes IPv4 (a prefix only when it lies within ::ffff:0:0/96).
void Unmap(IpPrefix* p) {
  if (!p->v6 || p->bits < 96 || !IsMapped(p->bytes.data())) return;
  std::array<std::uint8_t, 16> b{};
  std::memcpy(b.data(), p->bytes.data() + 12, 4);
  p->bytes = b;
  p->bits = static_cast<std::uint8_t>(p->bits - 96);
  p->v6 = false;
}

bool HostBitsZero(const IpPrefix& p) {
  const int len = p.v6 ? 16 : 4;
  for (int i = 0; i < len; ++i) {
    const int first_bit = i * 8;
    if (first_bit + 8 <= p.bits) continue;
    const int keep = std::max(0, p.bits - first_bit);
    const std::uint8_t mask = keep == 0 ? 0 : static_cast<std::uint8_t>(0xff << (8 - keep));
    if ((p.bytes[i] & ~mask) != 0) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> NormalizeE164(std::string_view text) {
  if (text.empty() || text.size() > 40 || text[0] != '+') return std::nullopt;
  text.remove_prefix(1);
  if (text.empty() || !IsDigit(text[0])) return std::nullopt;  // "+ 1 ..." or "+(..." refused
  return CanonicalDigits(text);
}

std::optional<std::string> NormalizeDialled(std::string_view text) {
  if (!text.empty() && text[0] == '+') return NormalizeE164(text);
  if (text.empty() || text.size() > 40 || !IsDigit(text[0])) return std::nullopt;
  return CanonicalDigits(text);
}

Result<IpPrefix> ParseIpPrefix(std::string_view text) {
  IpPrefix p;
  const std::size_t slash = text.find('/');
  const std::string_view addr = text.substr(0, slash);
  if (!ParseAddressInto(addr, &p))
    return Fail(ErrorCode::kBadRequest, "'" + std::string(text.substr(0, 60)) +
                                            "' is not an IPv4 or IPv6 address or network");
  if (slash != std::string_view::npos) {
    const std::string_view len = text.substr(slash + 1);
    int bits = 0;
    if (len.empty() || len.size() > 3) return Fail(ErrorCode::kBadRequest, "bad prefix length in '" + std::string(text) + "'");
    for (char c : len) {
      if (!IsDigit(c)) return Fail(ErrorCode::kBadRequest, "bad prefix length in '" + std::string(text) + "'");
      bits = bits * 10 + (c - '0');
    }
    if (bits > (p.v6 ? 128 : 32))
      return Fail(ErrorCode::kBadRequest, "prefix length too long in '" + std::string(text) + "'");
    p.bits = static_cast<std::uint8_t>(bits);
  }
  if (!HostBitsZero(p))
    return Fail(ErrorCode::kBadRequest, "'" + std::string(text) +
                                            "' has bits set below its prefix length");
  Unmap(&p);
  return p;
}

std::optional<IpPrefix> ParseIpAddress(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  IpPrefix p;
  if (!ParseAddressInto(text, &p)) return std::nullopt;
  Unmap(&p);
  return p;
}

std::string ToString(const IpPrefix& p) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (p.v6) {
    inet_ntop(AF_INET6, p.bytes.data(), buf, sizeof buf);
  } else {
    inet_ntop(AF_INET, p.bytes.data(), buf, sizeof buf);
  }
  return std::string(buf) + "/" + std::to_string(p.bits);
}

bool Contains(const IpPrefix& net, const IpPrefix& address) {
  if (net.v6 != address.v6 || address.bits < net.bits) return false;
  const int full = net.bits / 8;
  if (std::memcmp(net.bytes.data(), address.bytes.data(), full) != 0) return false;
  const int rest = net.bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (net.bytes[full] & mask) == (address.bytes[full] & mask);
}

const char* Name(SipTransport t) { return t == SipTransport::kTcp ? "tcp" : "udp"; }

std::optional<SipTransport> ParseSipTransport(std::string_view s) {
  if (s == "udp") return SipTransport::kUdp;
  if (s == "tcp") return SipTransport::kTcp;
  return std::nullopt;
}

const char* Name(IvrActionKind k) {
  switch (k) {
    case IvrActionKind::kNone: return "none";
    case IvrActionKind::kQueue: return "queue";
    case IvrActionKind::kMenu: return "menu";
    case IvrActionKind::kNumber: return "number";
    case IvrActionKind::kRepeat: return "repeat";
    case IvrActionKind::kHangUp: return "hangup";
  }
  return "none";
}

namespace {

IvrOutcome HangUp(const char* reason) {
  IvrOutcome o;
  o.kind = IvrOutcome::Kind::kHangUp;
  o.reason = reason;
  return o;
}

IvrOutcome Play(const IvrMenu& m, bool retry) {
  IvrOutcome o;
  o.kind = IvrOutcome::Kind::kPlay;
  o.menu = m.id;
  o.prompt_text = m.prompt_text;
  o.prompt_file = m.prompt_file;
  o.timeout = m.timeout;
  o.retry = retry;
  return o;
}

// Carries out an action taken in menu m (a key's option or the failure target).
IvrOutcome Act(const IvrMenuLookup& find, const IvrMenu& m, const IvrAction& a,
               IvrSession* s, bool failure) {
  switch (a.kind) {
    case IvrActionKind::kQueue: {
      IvrOutcome o;
      o.kind = IvrOutcome::Kind::kQueue;
      o.queue = a.id;
      return o;
    }
    case IvrActionKind::kNumber: {
      IvrOutcome o;
      o.kind = IvrOutcome::Kind::kTransfer;
      o.number = a.number;
      return o;
    }
    case IvrActionKind::kMenu:
      return IvrStart(find, a.id, s);
    case IvrActionKind::kRepeat:
      // As a failure target "repeat" would loop for ever: there it ends the call.
      if (failure) return HangUp("failed");
      return Play(m, false);
    case IvrActionKind::kHangUp:
      return HangUp(failure ? "failed" : "hangup_option");
    case IvrActionKind::kNone:
      break;
  }
  return HangUp("failed");
}

}  // namespace

IvrOutcome IvrStart(const IvrMenuLookup& find, IvrMenuId menu, IvrSession* s) {
  const IvrMenu* m = find(menu);
  if (m == nullptr) return HangUp("no_menu");
  s->menu = menu;
  s->failures = 0;
  return Play(*m, false);
}

IvrOutcome IvrStep(const IvrMenuLookup& find, IvrSession* s, IvrInput in) {
  const IvrMenu* m = find(s->menu);
  if (m == nullptr) return HangUp("no_menu");
  if (++s->steps > kMaxIvrSteps) return HangUp("too_many_steps");
  if (!in.timeout) {
    auto it = m->options.find(in.digit);
    if (it != m->options.end()) return Act(find, *m, it->second, s, false);
  }
  // A timeout or a key without an option.
  if (++s->failures <= m->max_retries) return Play(*m, true);
  return Act(find, *m, m->on_failure, s, true);
}

namespace {

constexpr std::array<const char*, 4> kCdrRoles{"customer", "agent", "transfer", "supervisor"};
constexpr std::array<const char*, 5> kCdrResults{"answered", "no_answer", "busy", "failed",
                                                 "abandoned"};
constexpr std::array<const char*, 6> kCdrParties{"unknown", "customer",   "agent",
                                                 "transfer", "supervisor", "system"};

template <typename E, std::size_t N>
const char* NameOf(const std::array<const char*, N>& names, E e) {
  const auto i = static_cast<std::size_t>(e);
  return i < N ? names[i] : "unknown";
}
template <typename E, std::size_t N>
std::optional<E> ParseOf(const std::array<const char*, N>& names, std::string_view s) {
  for (std::size_t i = 0; i < N; ++i)
    if (s == names[i]) return static_cast<E>(i);
  return std::nullopt;
}

}  // namespace

const char* Name(CdrRole r) { return NameOf(kCdrRoles, r); }
const char* Name(CdrResult r) { return NameOf(kCdrResults, r); }
const char* Name(CdrParty p) { return NameOf(kCdrParties, p); }
std::optional<CdrRole> ParseCdrRole(std::string_view s) { return ParseOf<CdrRole>(kCdrRoles, s); }
std::optional<CdrResult> ParseCdrResult(std::string_view s) {
  return ParseOf<CdrResult>(kCdrResults, s);
}
std::optional<CdrParty> ParseCdrParty(std::string_view s) {
  return ParseOf<CdrParty>(kCdrParties, s);
}

namespace {
constexpr std::array<const char*, 3> kMonitorModes{"listen", "whisper", "barge"};
}  // namespace
const char* Name(MonitorMode m) { return NameOf(kMonitorModes, m); }
std::optional<MonitorMode> ParseMonitorMode(std::string_view s) {
  return ParseOf<MonitorMode>(kMonitorModes, s);
}

std::string RecordingPath(TenantId t, InteractionId interaction, int part) {
  return "recordings/" + std::to_string(t) + "/" + std::to_string(interaction) +
         (part > 1 ? "-" + std::to_string(part) : std::string()) + ".wav";
}

bool ValidPromptFile(std::string_view name) {
  if (name.size() < 5 || name.size() > 100 || name.front() == '.' || !name.ends_with(".wav"))
    return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace homeline::core
