#pragma once
/// \file
/// The thread, barrier, shuffle and tensor-core primitives a kernel body uses, so that
/// the same body runs on the GPU and, for tests without a GPU, on the CPU:
/// - in CUDA device code they are the intrinsics (threadIdx, __syncthreads, __syncwarp,
///   __shfl_xor_sync, mma.sync.m16n8k16, ldmatrix);
/// - in host code (g++) a block is emulated with one fiber per GPU thread on the calling
///   OS thread (kernels/cuda/simt_emulator.cpp): a thread runs until it waits at a block
///   or warp barrier, shuffles and the warp-collective mma exchange their operands
///   through per-warp memory at a barrier, and `launch` runs a grid block by block.
/// The emulator is for correctness tests only (tests/simt/): it ignores timing, but it
/// executes the kernel's own code, indexing and synchronization, deterministically (the
/// same schedule on every run; threads resumed alternately upwards and downwards, so a
/// missing barrier shows in one of the two orders; a barrier that not all threads reach
/// is an error, not a hang), and the mma by the PTX ISA's fragment layouts (transcribed
/// here independently of warp_layout.hpp).

#include <cstdint>

#if defined(__CUDACC__)

#define XBARMC_SIMT __device__ __forceinline__
#define XBARMC_UNROLL _Pragma("unroll")

namespace xbarmc::simt {

XBARMC_SIMT int thread_x() { return static_cast<int>(threadIdx.x); }
XBARMC_SIMT int block_x() { return static_cast<int>(blockIdx.x); }
XBARMC_SIMT void sync_block() { __syncthreads(); }
XBARMC_SIMT void sync_warp() { __syncwarp(); }
template <class T>
XBARMC_SIMT T shfl_xor(T v, int mask) {
  return __shfl_xor_sync(0xffffffffu, v, mask);
}
/// Bit l set where lane l's `pred` holds (every lane of the warp calls it).
XBARMC_SIMT std::uint32_t ballot(bool pred) { return __ballot_sync(0xffffffffu, pred); }
/// The index of the lowest set bit of x != 0.
XBARMC_SIMT int lowest_bit(std::uint32_t x) { return __ffs(static_cast<int>(x)) - 1; }

/// D += A x B: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32.
XBARMC_SIMT void mma_16816(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
  __trap();  // built for sm_80 and newer only (CMAKE_CUDA_ARCHITECTURES)
#endif
}
/// ldmatrix.sync.aligned.m8n8.x4.shared.b16: four 8 x 8 matrices of f16 from shared
/// memory, lane 8 i + j giving the address of row j of matrix i (16 bytes, 16-byte
/// aligned); register i of lane l receives word l % 4 (elements 2 (l % 4), + 1) of row
/// l / 4 of matrix i.
XBARMC_SIMT void ldmatrix_x4(std::uint32_t (&r)[4], const void* row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const auto a = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
#else
  __trap();  // built for sm_80 and newer only (CMAKE_CUDA_ARCHITECTURES)
#endif
}

}  // namespace xbarmc::simt

#else  // host: the emulator

#include <cuda_fp16.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#define XBARMC_SIMT inline
#define XBARMC_UNROLL

namespace xbarmc::simt {

namespace emu {

// The scheduler (kernels/cuda/simt_emulator.cpp): a block's threads as fibers on the
// calling OS thread, each running until it waits at a barrier.
/// Runs fn(ctx, i) for the n threads i of a block, as fibers; rethrows what one threw,
/// and fails when every live thread waits at a barrier that no other reaches.
void run_fibers(int n, void (*fn)(void*, int), void* ctx);
/// Suspends the running thread until *generation differs from `seen`.
void wait_until_changed(const std::uint64_t* generation, std::uint64_t seen);
/// The running thread's index in its block.
int current_fiber();

/// A reusable barrier for n threads.
class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  void wait() {
    const std::uint64_t gen = generation_;
    if (++arrived_ == n_) {
      arrived_ = 0;
      ++generation_;
      return;
    }
    wait_until_changed(&generation_, gen);
  }

 private:
  const int n_;
  int arrived_ = 0;
  std::uint64_t generation_ = 0;
};

struct Warp {
  Barrier barrier{32};
  std::uint64_t exchange[2][32] = {};
  std::uint32_t a[2][32][4] = {}, b[2][32][2] = {};
  float A[2][16][16] = {}, B[2][16][8] = {};  // an mma's operands as matrices, per operand set
  std::uint64_t decoded[2] = {};              // which call's operands A and B hold (call + 1)
  std::uint64_t mma_calls[32] = {};           // per lane: its mma calls so far
  int shfl_turn[32] = {};                     // per lane: which exchange set its next shuffle uses
};

struct Block {
  Block(int threads, int id) : barrier(threads), warps(static_cast<std::size_t>(threads / 32)), bid(id) {}
  Barrier barrier;
  std::vector<Warp> warps;
  int bid;
};
inline thread_local Block* block = nullptr;  // the block being run

inline Warp& warp() { return block->warps[static_cast<std::size_t>(current_fiber() / 32)]; }

inline float half_bits_to_float(std::uint32_t bits) {
  return __half2float(__ushort_as_half(static_cast<unsigned short>(bits & 0xffffu)));
}

}  // namespace emu

inline int thread_x() { return emu::current_fiber(); }
inline int block_x() { return emu::block->bid; }
inline void sync_block() { emu::block->barrier.wait(); }
inline void sync_warp() { emu::warp().barrier.wait(); }

template <class T>
T shfl_xor(T v, int mask) {
  static_assert(sizeof(T) <= sizeof(std::uint64_t), "shfl_xor emulates values of up to 8 bytes");
  emu::Warp& w = emu::warp();
  const int lane = emu::current_fiber() % 32;
  // Two exchange sets used in turn: a lane writes set s again only two calls later,
  // after every lane has passed the barrier of the call in between (and so has read s).
  const int s = w.shfl_turn[lane];
  w.shfl_turn[lane] = 1 - s;
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  w.exchange[s][lane] = bits;
  w.barrier.wait();
  T r;
  std::memcpy(&r, &w.exchange[s][lane ^ mask], sizeof(T));
  return r;
}

/// Bit l set where lane l's `pred` holds: an OR over the warp by shfl_xor.
inline std::uint32_t ballot(bool pred) {
  std::uint32_t bits = pred ? 1u << (emu::current_fiber() % 32) : 0u;
  for (int o = 16; o > 0; o /= 2) bits |= shfl_xor(bits, o);
  return bits;
}
/// The index of the lowest set bit of x != 0.
inline int lowest_bit(std::uint32_t x) { return __builtin_ctz(x); }

/// ldmatrix.sync.aligned.m8n8.x4.shared.b16 by the PTX ISA: lane 8 i + j gives the
/// address of row j of matrix i (16 bytes; a row not 16-byte aligned is an error, as it is
/// undefined on a GPU); register i of lane l receives word l % 4 of row l / 4 of matrix i.
/// The addresses are exchanged like shfl_xor's values.
inline void ldmatrix_x4(std::uint32_t (&r)[4], const void* row) {
  if (reinterpret_cast<std::uintptr_t>(row) % 16 != 0)
    throw std::logic_error("ldmatrix_x4: a row address that is not 16-byte aligned");
  emu::Warp& w = emu::warp();
  const int lane = emu::current_fiber() % 32;
  const int s = w.shfl_turn[lane];
  w.shfl_turn[lane] = 1 - s;
  w.exchange[s][lane] = reinterpret_cast<std::uintptr_t>(row);
  w.barrier.wait();
  for (int i = 0; i < 4; ++i) {
    const auto* p =
        reinterpret_cast<const unsigned char*>(static_cast<std::uintptr_t>(w.exchange[s][8 * i + lane / 4]));
    std::memcpy(&r[i], p + 4 * (lane % 4), sizeof(std::uint32_t));
  }
}

/// D += A x B for one m16n8k16 fragment set, the operands of all 32 lanes gathered by
/// the PTX ISA's element formulas (groupID = lane >> 2, threadID_in_group = lane % 4):
/// A element i of a lane at row groupID (+8 for i in {2,3,6,7}), column
/// 2 threadID_in_group + (i & 1) (+8 for i >= 4); B element i at row
/// 2 threadID_in_group + (i & 1) (+8 for i >= 2), column groupID; accumulator element i
/// at row groupID (+8 for i >= 2), column 2 threadID_in_group + (i & 1). Products are
/// exact in float (f16 x f16) and summed in float in k order.
inline void mma_16816(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
  emu::Warp& w = emu::warp();
  const int lane = emu::current_fiber() % 32;
  const std::uint64_t call = w.mma_calls[lane]++;  // the warp's call this is (every lane makes each call)
  const int s = static_cast<int>(call % 2);        // operand sets in turn, as in shfl_xor
  for (int r = 0; r < 4; ++r) w.a[s][lane][r] = a[r];
  w.b[s][lane][0] = b0;
  w.b[s][lane][1] = b1;
  w.barrier.wait();
  // The first lane past the barrier lays out the call's A and B for all.
  float(&A)[16][16] = w.A[s];
  float(&B)[16][8] = w.B[s];
  if (w.decoded[s] != call + 1) {
    w.decoded[s] = call + 1;
    for (int l = 0; l < 32; ++l) {
      const int g = l >> 2, t = l % 4;
      for (int i = 0; i < 8; ++i) {
        const int row = (i < 2 || (i >= 4 && i < 6)) ? g : g + 8;
        const int col = t * 2 + (i & 1) + (i >= 4 ? 8 : 0);
        A[row][col] = emu::half_bits_to_float(w.a[s][l][i / 2] >> (16 * (i % 2)));
      }
      for (int i = 0; i < 4; ++i) {
        const int row = t * 2 + (i & 1) + (i >= 2 ? 8 : 0);
        B[row][g] = emu::half_bits_to_float(w.b[s][l][i / 2] >> (16 * (i % 2)));
      }
    }
  }
  const int g = lane >> 2, t = lane % 4;
  for (int i = 0; i < 4; ++i) {
    const int row = i < 2 ? g : g + 8, col = t * 2 + (i & 1);
    float sum = d[i];
    for (int k = 0; k < 16; ++k) sum += A[row][k] * B[k][col];
    d[i] = sum;
  }
}

/// Runs `body(shared_memory)` as a grid of `grid` blocks of `threads` threads (a
/// multiple of 32), block after block, each block's threads as fibers (emu::run_fibers),
/// with `shared_bytes` of 128-byte aligned shared memory per block. That memory starts
/// filled with bytes that vary with their address: a GPU does not clear shared memory, and
/// a body that reads what it did not write should not read 0 here, nor a uniform fill (-1
/// in every column sum cancels out in a differential pair's columns). An exception
/// in any thread is rethrown after its block stops.
template <class Body>
void launch(int grid, int threads, std::size_t shared_bytes, Body body) {
  struct Run {
    Body* body;
    unsigned char* shared;
  };
  for (int b = 0; b < grid; ++b) {
    std::vector<unsigned char> shared(shared_bytes + 128);
    for (std::size_t i = 0; i < shared.size(); ++i) {  // a 64-bit mix (MurmurHash3's finalizer) per 8 bytes
      std::uint64_t x = (i / 8 + 1) * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(b);
      x = (x ^ (x >> 33)) * 0xFF51AFD7ED558CCDull;
      x = (x ^ (x >> 33)) * 0xC4CEB9FE1A85EC53ull;
      shared[i] = static_cast<unsigned char>((x ^ (x >> 33)) >> (8 * (i % 8)));
    }
    unsigned char* base = shared.data();
    base += (128 - reinterpret_cast<std::uintptr_t>(base) % 128) % 128;
    emu::Block block(threads, b);
    struct Current {
      explicit Current(emu::Block* b) { emu::block = b; }
      ~Current() { emu::block = nullptr; }
    } current(&block);
    Run run{&body, base};
    emu::run_fibers(
        threads, [](void* r, int) { (*static_cast<Run*>(r)->body)(static_cast<Run*>(r)->shared); }, &run);
  }
}

}  // namespace xbarmc::simt

#endif
