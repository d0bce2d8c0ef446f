#pragma once
// A fresh engine rebuilt from an engine's events, each encoded and decoded by the event codec
// first: what a restart does with the stored log, for engine tests that check replay.

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "core/engine.h"
#include "core/event_codec.h"

namespace homeline::core {

inline std::unique_ptr<Engine> ReplayThroughCodec(const std::vector<Event>& log) {
  auto fresh = std::make_unique<Engine>();
  for (const Event& e : log) {
    auto body = DecodePayload(TypeName(e.body), EncodePayload(e.body));
    EXPECT_TRUE(body.has_value());
    if (!body) continue;
    EXPECT_TRUE(fresh->Replay(Event{e.seq, e.ts, e.tenant, std::move(*body)}).has_value());
  }
  return fresh;
}

}  // namespace homeline::core
