// libFuzzer target: RTP packets as the media threads receive them (untrusted: any host can send
// to an RTP port). Properties: Parse never reads outside the packet; a parsed payload lies
// inside it; a telephone-event parses within the payload; G.711 transcoding in place keeps the
// length and round-trips PCMA -> PCMU -> PCMA for every byte.

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "adapters/media/g711.h"
#include "adapters/media/rtp.h"

using namespace homeline::media;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A copy of exactly `size` bytes, so ASan sees any read past the end.
  std::vector<std::uint8_t> packet(data, data + size);
  rtp::IsRtcp(packet.data(), packet.size());
  rtp::Packet p;
  if (!rtp::Parse(packet.data(), packet.size(), &p)) return 0;
  if (p.payload_offset < rtp::kHeaderSize || p.payload_offset + p.payload_size > size) std::abort();
  std::uint8_t* payload = packet.data() + p.payload_offset;
  rtp::TelephoneEvent ev;
  if (rtp::ParseTelephoneEvent(payload, p.payload_size, &ev)) rtp::DtmfChar(ev.event);
  std::vector<std::uint8_t> before(payload, payload + p.payload_size);
  g711::AlawToUlaw(payload, p.payload_size);
  g711::UlawToAlaw(payload, p.payload_size);
  for (std::size_t i = 0; i < before.size(); ++i) {
    // A-law -> mu-law -> A-law is exact except where mu-law is coarser (the smallest values).
    int a = g711::AlawToLinear(before[i]), b = g711::AlawToLinear(payload[i]);
    if (std::abs(a - b) > 16 + std::abs(a) / 16) std::abort();
  }
  rtp::SetPayloadType(packet.data(), 8);
  return 0;
}
