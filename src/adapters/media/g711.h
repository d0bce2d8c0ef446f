#pragma once
// G.711 mu-law (PCMU) and A-law (PCMA) conversion by table lookup. The tables are built once,
// at static initialisation (128 KiB for encoding, 1.5 KiB for the rest); every function is
// then one load per sample, safe from any thread.

#include <cstddef>
#include <cstdint>

namespace homeline::media::g711 {

std::int16_t UlawToLinear(std::uint8_t u);
std::int16_t AlawToLinear(std::uint8_t a);
std::uint8_t LinearToUlaw(std::int16_t s);
std::uint8_t LinearToAlaw(std::int16_t s);
std::uint8_t UlawToAlaw(std::uint8_t u);
std::uint8_t AlawToUlaw(std::uint8_t a);

// In place over a payload (relay transcoding).
void UlawToAlaw(std::uint8_t* p, std::size_t n);
void AlawToUlaw(std::uint8_t* p, std::size_t n);

// Sample-buffer forms. `alaw` selects the law.
void Decode(const std::uint8_t* in, std::size_t n, bool alaw, std::int16_t* out);
void Encode(const std::int16_t* in, std::size_t n, bool alaw, std::uint8_t* out);

}  // namespace homeline::media::g711
