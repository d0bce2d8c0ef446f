#include "adapters/sip/sdp.h"

#include <gtest/gtest.h>

namespace homeline::sip {
namespace {

// What SIPp's uac_pcap scenario offers (the customer leg of the integration tests).
constexpr const char* kSippOffer =
    "v=0\r\n"
    "o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\n"
    "m=audio 6100 RTP/AVP 8 101\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-11,16\r\n";

// Roughly what baresip offers: several codecs, media-level c=, a second (video) stream.
constexpr const char* kBaresipOffer =
    "v=0\n"
    "o=- 1 2 IN IP4 10.0.0.5\n"
    "s=-\n"
    "c=IN IP4 10.0.0.5\n"
    "t=0 0\n"
    "m=audio 10002 RTP/AVP 9 0 8 101\n"
    "c=IN IP4 10.0.0.6\n"
    "a=rtpmap:9 G722/8000\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=ptime:20\n"
    "a=sendrecv\n"
    "m=video 10004 RTP/AVP 96\n"
    "c=IN IP4 10.0.0.7\n"
    "a=rtpmap:96 H264/90000\n"
    "a=inactive\n";

TEST(Sdp, ParsesSippOffer) {
  auto md = ParseSdp(kSippOffer);
  ASSERT_TRUE(md) << md.error().message;
  EXPECT_EQ(md->address, "127.0.0.1");
  EXPECT_EQ(md->port, 6100);
  ASSERT_EQ(md->formats.size(), 2u);
  EXPECT_EQ(md->formats[0].encoding, "PCMA");
  EXPECT_EQ(md->DtmfPt(), 101);
  EXPECT_EQ(md->FirstG711(), kPtPcma);
  EXPECT_EQ(md->direction, Direction::kSendRecv);
  EXPECT_FALSE(md->OnHold());
}

TEST(Sdp, MediaLevelWinsAndLaterStreamsAreIgnored) {
  auto md = ParseSdp(kBaresipOffer);
  ASSERT_TRUE(md) << md.error().message;
  EXPECT_EQ(md->address, "10.0.0.6");  // media-level c= of the audio stream, not the video's
  EXPECT_EQ(md->port, 10002);
  EXPECT_EQ(md->direction, Direction::kSendRecv);  // the video stream's inactive is not ours
  ASSERT_EQ(md->formats.size(), 4u);
  EXPECT_EQ(md->formats[1].encoding, "PCMU");  // static payload type without rtpmap
  EXPECT_EQ(md->FirstG711(), kPtPcmu);          // G.722 first, but PCMU is the first we speak
  EXPECT_EQ(md->ptime_ms, 20);
}

TEST(Sdp, ChooseCodecPrefersTheOtherLegsCodecWhenOffered) {
  auto md = ParseSdp(kBaresipOffer);
  ASSERT_TRUE(md);
  EXPECT_EQ(ChooseCodec(*md), kPtPcmu);
  EXPECT_EQ(ChooseCodec(*md, kPtPcma), kPtPcma);
  auto sipp = ParseSdp(kSippOffer);
  ASSERT_TRUE(sipp);
  EXPECT_EQ(ChooseCodec(*sipp, kPtPcmu), kPtPcma);  // not offered: the offer's own
}

TEST(Sdp, NoG711IsNoCodec) {
  auto md = ParseSdp("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 9 18\r\n");
  ASSERT_TRUE(md);
  EXPECT_FALSE(ChooseCodec(*md));
}

TEST(Sdp, HoldForms) {
  auto sendonly = ParseSdp("v=0\r\nc=IN IP4 1.2.3.4\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n");
  ASSERT_TRUE(sendonly);
  EXPECT_EQ(sendonly->direction, Direction::kSendOnly);  // session level applies to the stream
  EXPECT_TRUE(sendonly->OnHold());
  auto zero = ParseSdp("v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\n");
  ASSERT_TRUE(zero);
  EXPECT_TRUE(zero->OnHold());
}

TEST(Sdp, RejectsBadInput) {
  EXPECT_FALSE(ParseSdp(""));
  EXPECT_FALSE(ParseSdp("hello"));
  EXPECT_FALSE(ParseSdp("v=0\r\nc=IN IP4 1.2.3.4\r\n"));                              // no audio
  EXPECT_FALSE(ParseSdp("v=0\r\nm=audio 4000 RTP/AVP 0\r\n"));                        // no c=
  EXPECT_FALSE(ParseSdp("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 99999 RTP/AVP 0\r\n"));    // port
  EXPECT_FALSE(ParseSdp("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/SAVP 0\r\n"));    // SRTP
  EXPECT_FALSE(ParseSdp("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 300\r\n"));   // pt
  EXPECT_FALSE(ParseSdp("v=0\r\nc=IN IP4 1.2;rm -rf\r\nm=audio 4000 RTP/AVP 0\r\n"));  // addr
  EXPECT_FALSE(ParseSdp("v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\nbroken\r\n"));
  EXPECT_FALSE(ParseSdp(std::string(kMaxSdpBytes + 1, 'v')));
}

TEST(Sdp, BuildRoundTrips) {
  LocalMedia m;
  m.address = "127.0.0.1";
  m.port = 20002;
  m.codec_pt = kPtPcma;
  m.dtmf_pt = 101;
  m.session_id = 42;
  m.version = 1;
  const std::string text = BuildSdp(m);
  EXPECT_NE(text.find("o=homeline 42 1 IN IP4 127.0.0.1\r\n"), std::string::npos);
  auto md = ParseSdp(text);
  ASSERT_TRUE(md) << md.error().message;
  EXPECT_EQ(md->address, "127.0.0.1");
  EXPECT_EQ(md->port, 20002);
  EXPECT_EQ(md->FirstG711(), kPtPcma);
  EXPECT_EQ(md->DtmfPt(), 101);
  EXPECT_FALSE(md->Has(kPtPcmu));  // one codec only: the relay need not transcode

  m.dtmf_pt.reset();
  m.direction = Direction::kSendOnly;  // we put the peer on hold
  auto held = ParseSdp(BuildSdp(m));
  ASSERT_TRUE(held);
  EXPECT_FALSE(held->DtmfPt());
  EXPECT_TRUE(held->OnHold());
}

}  // namespace
}  // namespace homeline::sip
