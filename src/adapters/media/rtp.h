#pragma once
// RTP (RFC 3550) header parsing and writing, and RFC 4733 telephone-event payloads. Pure
// functions over byte buffers: the media threads call them per packet.

#include <cstddef>
#include <cstdint>

namespace homeline::media::rtp {

constexpr std::size_t kHeaderSize = 12;

struct Packet {
  std::uint8_t payload_type = 0;
  bool marker = false;
  std::uint16_t seq = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  std::size_t payload_offset = 0;  // after CSRCs and the header extension
  std::size_t payload_size = 0;    // without padding
};

// False for anything that is not a well-formed RTP version 2 packet. RTCP multiplexed on the
// same port (RFC 5761: payload types 72-76 with the marker bit, i.e. packet types 200-204)
// parses as RTP; callers check IsRtcp first.
inline bool IsRtcp(const std::uint8_t* p, std::size_t n) {
  return n >= 2 && p[1] >= 192 && p[1] <= 223;
}

inline bool Parse(const std::uint8_t* p, std::size_t n, Packet* out) {
  if (n < kHeaderSize || (p[0] >> 6) != 2) return false;
  std::size_t off = kHeaderSize + 4u * (p[0] & 0x0F);
  if (off > n) return false;
  if (p[0] & 0x10) {  // header extension: 4 bytes + length words
    if (off + 4 > n) return false;
    off += 4 + 4u * ((std::size_t{p[off + 2]} << 8) | p[off + 3]);
    if (off > n) return false;
  }
  std::size_t end = n;
  if (p[0] & 0x20) {  // padding: the last byte counts it
    std::size_t pad = p[n - 1];
    if (pad == 0 || off + pad > n) return false;
    end -= pad;
  }
  out->marker = (p[1] & 0x80) != 0;
  out->payload_type = p[1] & 0x7F;
  out->seq = static_cast<std::uint16_t>((p[2] << 8) | p[3]);
  out->timestamp = (std::uint32_t{p[4]} << 24) | (std::uint32_t{p[5]} << 16) |
                   (std::uint32_t{p[6]} << 8) | p[7];
  out->ssrc = (std::uint32_t{p[8]} << 24) | (std::uint32_t{p[9]} << 16) |
              (std::uint32_t{p[10]} << 8) | p[11];
  out->payload_offset = off;
  out->payload_size = end - off;
  return true;
}

inline void SetPayloadType(std::uint8_t* p, std::uint8_t pt) {
  p[1] = static_cast<std::uint8_t>((p[1] & 0x80) | (pt & 0x7F));
}

// A 12-byte header: version 2, no padding, extension or CSRC.
inline void WriteHeader(std::uint8_t* p, std::uint8_t pt, bool marker, std::uint16_t seq,
                        std::uint32_t ts, std::uint32_t ssrc) {
  p[0] = 0x80;
  p[1] = static_cast<std::uint8_t>((marker ? 0x80 : 0) | (pt & 0x7F));
  p[2] = static_cast<std::uint8_t>(seq >> 8);
  p[3] = static_cast<std::uint8_t>(seq);
  p[4] = static_cast<std::uint8_t>(ts >> 24);
  p[5] = static_cast<std::uint8_t>(ts >> 16);
  p[6] = static_cast<std::uint8_t>(ts >> 8);
  p[7] = static_cast<std::uint8_t>(ts);
  p[8] = static_cast<std::uint8_t>(ssrc >> 24);
  p[9] = static_cast<std::uint8_t>(ssrc >> 16);
  p[10] = static_cast<std::uint8_t>(ssrc >> 8);
  p[11] = static_cast<std::uint8_t>(ssrc);
}

// RFC 4733 section 2.3: event, E|R|volume, duration.
struct TelephoneEvent {
  std::uint8_t event = 0;  // 0-9 digits, 10 '*', 11 '#', 12-15 A-D
  bool end = false;
  std::uint8_t volume = 0;
  std::uint16_t duration = 0;
};

inline bool ParseTelephoneEvent(const std::uint8_t* payload, std::size_t n, TelephoneEvent* out) {
  if (n < 4) return false;
  out->event = payload[0];
  out->end = (payload[1] & 0x80) != 0;
  out->volume = payload[1] & 0x3F;
  out->duration = static_cast<std::uint16_t>((payload[2] << 8) | payload[3]);
  return true;
}

// The DTMF character of an event code, or 0 for events that are not DTMF (tones, flash).
inline char DtmfChar(std::uint8_t event) {
  static constexpr char kChars[] = "0123456789*#ABCD";
  return event < 16 ? kChars[event] : 0;
}

}  // namespace homeline::media::rtp
