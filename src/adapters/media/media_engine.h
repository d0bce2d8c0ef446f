#pragma once
// Homeline's media layer: RTP legs on UDP ports, relay between two legs, prompts, DTMF, stereo
// recording and supervisor mixing. Our own code, no libre: the SIP side (src/adapters/sip)
// negotiates SDP and tells this engine where each leg's media goes.
//
// Threads: MediaEngine is safe to call from any thread. It runs Options::threads media threads
// (epoll loops); every command is queued to the thread that owns the leg and applied in order,
// so a call returns before the command took effect (except OpenLeg, which binds the socket
// synchronously and returns its port). Commands naming a leg that is unknown or already closed
// are no-ops: a BYE that races a close must never crash the media path.
//
// Legs that are bridged, recorded together or mixed together must live on the same media
// thread. With one thread (the default) that always holds; with more, open the second leg of a
// call with OpenLegNear(first_leg). Commands across threads are refused (logged, no-op).
//
// Media behaviour (docs/architecture.md "Media", docs/decisions.md):
// - Symmetric RTP latching: a leg sends to the source address of the first RTP packet it
//   receives (NAT, and softphones whose SDP names another interface); before that, to the SDP
//   address. A latched leg's socket is connected to its source, so the kernel drops other
//   senders; once its source has been silent for 2 s (checked every second) the next source
//   is latched (NAT rebinding). SetRemote resets the latch.
// - A leg is IPv4 or IPv6 (OpenLeg(ipv6)), its socket of that family only (no dual stack): it
//   talks to peers of its own family; a bridge joins legs of either.
// - Bridged legs forward packets raw (SSRC, sequence and timestamps are the sender's); when the
//   legs' codecs differ the G.711 payload is transcoded (PCMU <-> PCMA) and the payload type
//   rewritten; telephone-events are forwarded with the receiving leg's DTMF payload type.
// - What a leg hears, by priority: a playing prompt, else a mix (Listen), else its bridge peer.
// - Generated audio (prompts, mixes) goes out in 20 ms packets of the leg's codec with the
//   leg's own SSRC.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/time.h"

namespace homeline::media {

using LegId = std::uint64_t;

// G.711 payload types (static RTP payload types, RFC 3551).
enum class Codec : std::uint8_t { kPcmu = 0, kPcma = 8 };

// An IPv4 or IPv6 address ("192.0.2.7", "2001:db8::7", "[::1]") and port, as found in SDP
// (c= and m= lines).
struct Endpoint {
  std::string address;
  std::uint16_t port = 0;
};

struct LegInfo {
  LegId id = 0;
  std::uint16_t local_port = 0;  // the RTP port to put in our SDP
  std::string address;           // the address it is bound to, for the SDP (IPv4 or IPv6)
};

// A prompt: a name in the engine's library ("greeting", "moh", "you_are_number", "3", ...,
// see prompts.h for the defaults), or the path of a WAV file (any name containing '/'),
// loaded and converted to 8 kHz mono on first use, then cached.
struct PromptRef {
  std::string name;
};

enum class ListenMode : std::uint8_t {
  kListen,   // the supervisor hears customer and agent; nobody hears the supervisor
  kWhisper,  // as listen, and the agent hears the supervisor (the customer does not)
  kBarge,    // all three hear the other two
};

struct MediaEvent {
  enum class Kind : std::uint8_t {
    kDtmf,             // RFC 4733 telephone-event received on `leg`: `digit` is 0-9 * # A-D
    kPlayDone,         // the sequence given to Play finished (not sent when stopped/replaced)
    kRtpTimeout,       // no RTP on `leg` for Options::rtp_timeout (sent once per SetRemote)
    kRecordingDone,    // the recording of `leg` (the customer leg) is closed and complete
    kRecordingFailed,  // the file could not be written; `path` names it, `detail` says why
  };
  Kind kind = Kind::kDtmf;
  LegId leg = 0;
  char digit = 0;
  std::string path;
  std::string detail;
};

struct Options {
  std::string bind_address = "127.0.0.1";  // IPv4 address the RTP sockets bind to
  // IPv6 address the legs of IPv6 peers bind to (OpenLeg(true)); "": no IPv6 legs.
  std::string bind_address6;
  std::uint16_t port_min = 20000;          // even ports in [port_min, port_max) are used
  std::uint16_t port_max = 30000;
  int threads = 1;                         // media threads (epoll loops)
  // Prompt library directory (data_dir/prompts). Every *.wav in it is loaded by file stem; the
  // default prompts that are missing are generated first (espeak-ng, music on hold
  // synthesized) when generate_prompts is set. Empty: no library (paths still work).
  std::string prompt_dir;
  bool generate_prompts = true;
  DurationMs rtp_timeout = 0;   // 0: never report kRtpTimeout
  int socket_buffer_bytes = 0;  // SO_RCVBUF/SO_SNDBUF per leg socket; 0: kernel default
  // A media thread naps this long after each round of packets so that the next round finds
  // many (one wake-up for many packets instead of one per packet): adds at most this delay to
  // relayed audio; 0 disables. docs/decisions.md explains the default.
  int coalesce_us = 1000;
};

struct Stats {
  std::uint64_t legs = 0;               // open now
  std::uint64_t packets_in = 0;         // RTP packets received on all legs
  std::uint64_t packets_out = 0;        // packets sent (relayed and generated)
  std::uint64_t packets_relayed = 0;    // of packets_out, forwarded from a bridge peer
  std::uint64_t packets_transcoded = 0;
  std::uint64_t dropped_no_remote = 0;  // nowhere to send yet (no SDP, nothing latched)
  std::uint64_t dropped_foreign = 0;    // from a source other than the latched one
  std::uint64_t dropped_malformed = 0;  // not RTP v2
  std::uint64_t send_errors = 0;
  std::uint64_t relatches = 0;          // latch moved to a new source (NAT rebinding)
  std::uint64_t dtmf_digits = 0;
  std::uint64_t ports_exhausted = 0;    // OpenLeg refused for lack of a free port
  std::uint64_t cpu_ns = 0;             // CPU time used by the media threads
};

class MediaEngine {
 public:
  // Starts the media threads and, if Options::prompt_dir is set, loads (and generates the
  // missing default) prompts; the first start with generation takes a few seconds.
  static Result<std::unique_ptr<MediaEngine>> Start(Options options);
  ~MediaEngine();  // stops the threads, closes every leg, finishes recordings
  MediaEngine(const MediaEngine&) = delete;
  MediaEngine& operator=(const MediaEngine&) = delete;

  // Binds a new RTP port, on bind_address6 when ipv6 (kUnavailable when the range is exhausted
  // or no IPv6 address is configured).
  Result<LegInfo> OpenLeg(bool ipv6 = false);
  // Same, on the media thread of `near` (use for the other legs of the same call).
  Result<LegInfo> OpenLegNear(LegId near, bool ipv6 = false);
  // Where the leg's media goes, its codec and its telephone-event payload type (-1: none),
  // from the peer's SDP. Resets latching: the next packet received latches again.
  void SetRemote(LegId leg, Endpoint remote, Codec codec, int dtmf_pt);

  // Plays the prompts one after the other (again and again if loop), replacing what the leg
  // played before. Unknown names and unreadable files are an error and nothing is played.
  // A path is read on the calling thread the first time it is used.
  Status Play(LegId leg, std::vector<PromptRef> sequence, bool loop);
  void StopPlay(LegId leg);
  // "you are number" <number words> "in line" (position >= 1; above 999 says 999).
  static std::vector<PromptRef> PositionAnnouncement(int position);

  // a hears b and b hears a. A leg has at most one peer: bridging it again replaces the peer.
  void Bridge(LegId a, LegId b);
  void Unbridge(LegId a);  // a and its peer

  // Two-channel 8 kHz 16-bit WAV at `path`: customer's received audio left, agent's right,
  // written by a writer thread (directories created). Paused stretches are written as silence,
  // so the file's timeline is the call's. Ends with StopRecording, or when either leg closes;
  // then kRecordingDone (or kRecordingFailed) is sent.
  void StartRecording(LegId customer, LegId agent, std::string path);
  void PauseRecording(LegId customer, bool paused);
  void StopRecording(LegId customer);

  // The supervisor's leg joins the customer/agent call in `mode`; calling again changes mode.
  // The mix follows the bridge: while customer and agent are unbridged (hold), the supervisor
  // hears the agent only, and whisper and barge reach the agent only (docs/decisions.md).
  void Listen(LegId supervisor, LegId customer, LegId agent, ListenMode mode);
  void StopListen(LegId supervisor);

  // Closes the socket (its port returns to the pool, reused last), unbridges, stops playing,
  // recording and listening that involve the leg.
  void CloseLeg(LegId leg);

  // Receives MediaEvents. Called on a media thread or the recording writer thread: it must not
  // block (post to your own thread). Set it before opening legs.
  void SetSink(std::function<void(const MediaEvent&)> sink);

  // Adds or replaces a library prompt from a WAV file (any rate, mono or stereo).
  Status LoadPrompt(const std::string& name, const std::string& path);
  bool HasPrompt(const std::string& name) const;

  // Options::bind_address (or bind_address6), for SDP.
  const std::string& address(bool ipv6 = false) const;
  bool has_ipv6() const;
  Stats stats() const;

  class Impl;

 private:
  explicit MediaEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace homeline::media
