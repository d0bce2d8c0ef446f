#pragma once
// IVR on live calls: the pure pieces the SIP side uses (calls.cc) when a caller is in a menu.
// The menu logic itself is core::IvrStart/IvrStep (core/voice.h), driven on the engine thread
// by VoiceService (ivr_calls.cc); the SIP side plays prompts, collects keys (RFC 4733 events
// from the media engine, SIP INFO in the dialog) and runs the wait after each prompt.

#include <optional>
#include <string>
#include <string_view>

namespace homeline::sip {

// The key carried by a SIP INFO body, if any: application/dtmf-relay ("Signal=5\r\n
// Duration=160") or application/dtmf ("5"). Keys 0-9 * # A-D; "10"/"11" (some phones' * and
// #) are mapped. Content types compare case-insensitively, parameters ignored. nullopt for
// another type or no valid key.
std::optional<char> ParseDtmfInfo(std::string_view content_type, std::string_view body);

// Whether an INFO of this content type is DTMF at all (the others get 415).
bool IsDtmfInfoType(std::string_view content_type);

// The cache name of a prompt spoken from `text`: "ivr_" + 16 hex digits of a hash of the text,
// so an edited text gets a new file and an unchanged one is spoken once per server.
std::string IvrPromptName(std::string_view text);

}  // namespace homeline::sip
