#include "adapters/sip/sdp.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace homeline::sip {

namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

template <typename T>
bool ToInt(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Splits on runs of spaces.
std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// A connection address we are willing to send RTP to: an IPv4/IPv6 literal or a host name of
// ordinary characters (we never resolve names; the relay latches on the real source anyway).
bool PlausibleAddress(std::string_view a) {
  if (a.empty() || a.size() > 255) return false;
  return std::all_of(a.begin(), a.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '-' ||
           c == '_';
  });
}

// "IN IP4 192.0.2.1" (a multicast "/ttl" suffix is dropped).
std::optional<std::string> ParseConnection(std::string_view v) {
  auto w = Words(v);
  if (w.size() < 3 || w[0] != "IN" || (w[1] != "IP4" && w[1] != "IP6")) return std::nullopt;
  std::string_view addr = w[2];
  if (auto slash = addr.find('/'); slash != std::string_view::npos) addr = addr.substr(0, slash);
  if (!PlausibleAddress(addr)) return std::nullopt;
  return std::string(addr);
}

// The static payload types of RFC 3551 a peer may list without an rtpmap.
std::string StaticEncoding(int pt) {
  switch (pt) {
    case 0: return "PCMU";
    case 3: return "GSM";
    case 8: return "PCMA";
    case 9: return "G722";
    case 18: return "G729";
    default: return "";
  }
}

}  // namespace

const char* Name(Direction d) {
  switch (d) {
    case Direction::kSendRecv: return "sendrecv";
    case Direction::kSendOnly: return "sendonly";
    case Direction::kRecvOnly: return "recvonly";
    case Direction::kInactive: return "inactive";
  }
  return "sendrecv";
}

bool MediaDescription::OnHold() const {
  return address == "0.0.0.0" || direction == Direction::kSendOnly ||
         direction == Direction::kInactive;
}

std::optional<int> MediaDescription::DtmfPt() const {
  for (const SdpFormat& f : formats)
    if (IEquals(f.encoding, "telephone-event") && f.clock_rate == 8000) return f.pt;
  return std::nullopt;
}

std::optional<int> MediaDescription::FirstG711() const {
  for (const SdpFormat& f : formats) {
    if (f.clock_rate != 8000) continue;
    if (IEquals(f.encoding, "PCMU")) return kPtPcmu;
    if (IEquals(f.encoding, "PCMA")) return kPtPcma;
  }
  return std::nullopt;
}

bool MediaDescription::Has(int pt) const {
  const char* want = pt == kPtPcmu ? "PCMU" : pt == kPtPcma ? "PCMA" : nullptr;
  for (const SdpFormat& f : formats) {
    if (want ? IEquals(f.encoding, want) && f.clock_rate == 8000 : f.pt == pt) return true;
  }
  return false;
}

Result<MediaDescription> ParseSdp(std::string_view text) {
  if (text.size() > kMaxSdpBytes) return Fail(ErrorCode::kBadRequest, "sdp: too large");
  if (!text.starts_with("v=0")) return Fail(ErrorCode::kBadRequest, "sdp: no v=0 line first");

  MediaDescription md;
  std::optional<std::string> session_addr, media_addr;
  Direction session_dir = Direction::kSendRecv;
  std::optional<Direction> media_dir;
  // 0: session level, 1: in the audio stream we take, 2: in any other stream
  int section = 0;
  bool have_audio = false;
  std::vector<int> pts;
  std::vector<std::pair<int, SdpFormat>> rtpmaps;

  std::size_t pos = 0;
  int lines = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (++lines > 500) return Fail(ErrorCode::kBadRequest, "sdp: too many lines");
    if (line.size() < 2 || line[1] != '=')
      return Fail(ErrorCode::kBadRequest, "sdp: a line is not type=value");
    const char type = line[0];
    const std::string_view v = line.substr(2);

    if (type == 'm') {
      if (section == 1 || have_audio) {  // a later stream: not ours
        section = 2;
        continue;
      }
      auto w = Words(v);
      if (w.size() < 3 || w[0] != "audio") {
        section = 2;
        continue;
      }
      std::string_view port = w[1];
      if (auto slash = port.find('/'); slash != std::string_view::npos) port = port.substr(0, slash);
      if (!ToInt(port, &md.port)) return Fail(ErrorCode::kBadRequest, "sdp: bad audio port");
      if (w[2] != "RTP/AVP" && w[2] != "RTP/AVPF")
        return Fail(ErrorCode::kBadRequest, fmt::format("sdp: transport {} not supported", w[2]));
      for (std::size_t i = 3; i < w.size(); ++i) {
        int pt = 0;
        if (!ToInt(w[i], &pt) || pt < 0 || pt > 127)
          return Fail(ErrorCode::kBadRequest, "sdp: bad payload type");
        if (pts.size() < 64) pts.push_back(pt);
      }
      section = 1;
      have_audio = true;
      continue;
    }
    if (section == 2) continue;

    if (type == 'c') {
      auto a = ParseConnection(v);
      if (!a) return Fail(ErrorCode::kBadRequest, "sdp: bad c= line");
      (section == 0 ? session_addr : media_addr) = std::move(*a);
    } else if (type == 'a') {
      std::optional<Direction> dir;
      if (v == "sendrecv") dir = Direction::kSendRecv;
      else if (v == "sendonly") dir = Direction::kSendOnly;
      else if (v == "recvonly") dir = Direction::kRecvOnly;
      else if (v == "inactive") dir = Direction::kInactive;
      if (dir) {
        if (section == 0) session_dir = *dir; else media_dir = dir;
      } else if (section == 1 && v.starts_with("rtpmap:")) {
        // a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]
        auto w = Words(v.substr(7));
        int pt = 0;
        if (w.size() < 2 || !ToInt(w[0], &pt)) return Fail(ErrorCode::kBadRequest, "sdp: bad rtpmap");
        std::string_view enc = w[1];
        auto slash = enc.find('/');
        if (slash == std::string_view::npos) return Fail(ErrorCode::kBadRequest, "sdp: bad rtpmap");
        std::string_view rate = enc.substr(slash + 1);
        if (auto s2 = rate.find('/'); s2 != std::string_view::npos) rate = rate.substr(0, s2);
        SdpFormat f;
        f.pt = pt;
        f.encoding = std::string(enc.substr(0, std::min<std::size_t>(slash, 64)));
        if (!ToInt(rate, &f.clock_rate)) return Fail(ErrorCode::kBadRequest, "sdp: bad rtpmap rate");
        if (rtpmaps.size() < 64) rtpmaps.emplace_back(pt, std::move(f));
      } else if (section == 1 && v.starts_with("ptime:")) {
        int ms = 0;
        if (ToInt(v.substr(6), &ms) && ms > 0 && ms <= 1000) md.ptime_ms = ms;
      }
    }
  }
  if (!have_audio) return Fail(ErrorCode::kBadRequest, "sdp: no audio stream");
  if (media_addr) md.address = std::move(*media_addr);
  else if (session_addr) md.address = std::move(*session_addr);
  else return Fail(ErrorCode::kBadRequest, "sdp: no connection address");
  md.direction = media_dir.value_or(session_dir);
  for (int pt : pts) {
    auto it = std::find_if(rtpmaps.begin(), rtpmaps.end(), [&](const auto& r) { return r.first == pt; });
    if (it != rtpmaps.end()) {
      md.formats.push_back(it->second);
    } else {
      md.formats.push_back(SdpFormat{pt, StaticEncoding(pt), 8000});
    }
  }
  return md;
}

std::string BuildSdp(const LocalMedia& m) {
  const bool v6 = m.address.find(':') != std::string::npos;
  const char* ip = v6 ? "IP6" : "IP4";
  const char* codec = m.codec_pt == kPtPcma ? "PCMA" : "PCMU";
  std::string out = fmt::format(
      "v=0\r\no=homeline {} {} IN {} {}\r\ns=homeline\r\nc=IN {} {}\r\nt=0 0\r\n", m.session_id,
      m.version, ip, m.address, ip, m.address);
  if (m.dtmf_pt) {
    out += fmt::format("m=audio {} RTP/AVP {} {}\r\n", m.port, m.codec_pt, *m.dtmf_pt);
  } else {
    out += fmt::format("m=audio {} RTP/AVP {}\r\n", m.port, m.codec_pt);
  }
  out += fmt::format("a=rtpmap:{} {}/8000\r\n", m.codec_pt, codec);
  if (m.dtmf_pt) {
    out += fmt::format("a=rtpmap:{} telephone-event/8000\r\na=fmtp:{} 0-15\r\n", *m.dtmf_pt,
                       *m.dtmf_pt);
  }
  out += fmt::format("a=ptime:20\r\na={}\r\n", Name(m.direction));
  return out;
}

std::optional<int> ChooseCodec(const MediaDescription& offer, std::optional<int> prefer) {
  if (prefer && offer.Has(*prefer)) return prefer;
  return offer.FirstG711();
}

}  // namespace homeline::sip
