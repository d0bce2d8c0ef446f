#pragma once
// The SDP Homeline reads and writes for its calls (RFC 4566 / 3264), and nothing more: one audio
// stream, G.711 (PCMU 0, PCMA 8) and RFC 4733 telephone-event, a direction attribute for hold.
// Our own small code rather than libre's sdp module: it is pure (no sockets), so the call code
// and the tests use it on any thread, and the fuzz target covers it whole.
//
// Threads: any (no state).
// Errors: ParseSdp returns kBadRequest naming what is wrong (the caller answers 400/488).
// Cost: linear in the text, which is capped at kMaxSdpBytes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace homeline::sip {

constexpr std::size_t kMaxSdpBytes = 16 * 1024;
constexpr int kPtPcmu = 0;
constexpr int kPtPcma = 8;

enum class Direction : std::uint8_t { kSendRecv, kSendOnly, kRecvOnly, kInactive };
const char* Name(Direction d);

// One payload format of the audio stream (from the m= line and its a=rtpmap).
struct SdpFormat {
  int pt = 0;
  std::string encoding;  // "PCMU", "telephone-event", ... (as written; compare case-insensitively)
  int clock_rate = 8000;
};

// The parts of a session description a call needs: where the peer wants its audio and how.
struct MediaDescription {
  std::string address;     // c= of the audio stream (media level, else session level)
  std::uint16_t port = 0;  // m=audio port; 0: the stream is refused
  std::vector<SdpFormat> formats;  // in the order of the m= line (preference)
  Direction direction = Direction::kSendRecv;
  std::optional<int> ptime_ms;
  // True when the address is 0.0.0.0 (RFC 2543 hold) or the direction is sendonly/inactive:
  // the peer puts us on hold.
  bool OnHold() const;
  // The telephone-event payload type at 8 kHz, if offered.
  std::optional<int> DtmfPt() const;
  // The first G.711 format of the list (its payload type, 0 or 8), if any.
  std::optional<int> FirstG711() const;
  // Whether the list holds this G.711 payload type.
  bool Has(int pt) const;
};

// Parses the first audio stream of an SDP body. kBadRequest: not SDP, too large, no audio
// stream, no connection address, unparsable numbers.
Result<MediaDescription> ParseSdp(std::string_view text);

// What we describe: our own address and port, one codec (and telephone-event when the peer
// offered it, under the peer's payload type).
struct LocalMedia {
  std::string address;  // IPv4 dotted quad or IPv6 literal
  std::uint16_t port = 0;
  int codec_pt = kPtPcmu;           // 0 or 8
  std::optional<int> dtmf_pt = 101;  // telephone-event payload type, none to leave it out
  Direction direction = Direction::kSendRecv;
  std::uint64_t session_id = 0;   // o= sess-id, constant for a leg
  std::uint64_t version = 0;      // o= sess-version, bumped on each new description of a leg
};
std::string BuildSdp(const LocalMedia& m);

// The answer to an offer: the codec is the offer's first G.711 format (the offerer's
// preference); with `prefer` set and offered, that one instead (an agent leg answers with the
// customer leg's codec so the relay forwards packets unchanged). nullopt: no G.711 offered
// (the caller answers 488).
std::optional<int> ChooseCodec(const MediaDescription& offer, std::optional<int> prefer = {});

}  // namespace homeline::sip
