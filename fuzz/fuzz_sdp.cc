// libFuzzer target: the SDP bodies of INVITEs and their answers (untrusted: any trunk or phone).
// Properties: ParseSdp never crashes; whatever parses, answered with BuildSdp, parses again with
// the same address, port and codec (what the call code relies on).

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "adapters/sip/sdp.h"

using namespace homeline;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto md = sip::ParseSdp(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!md) return 0;
  auto codec = sip::ChooseCodec(*md);
  if (!codec) return 0;
  sip::LocalMedia m;
  m.address = md->address;
  m.port = md->port;
  m.codec_pt = *codec;
  m.dtmf_pt = md->DtmfPt();
  auto again = sip::ParseSdp(sip::BuildSdp(m));
  if (!again || again->address != md->address || again->port != md->port ||
      again->FirstG711() != codec || again->DtmfPt() != m.dtmf_pt)
    std::abort();
  return 0;
}
