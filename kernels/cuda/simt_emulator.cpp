// The CPU emulator's scheduler (kernels/cuda/simt.hpp, host half): a block's GPU threads
// as fibers on the calling OS thread, switched at barriers. Compiled into the emulator
// tests only (tests/simt/).
//
// A fiber runs until it waits at a barrier (or ends); the scheduler then resumes the next
// fiber whose barrier has opened, sweeping the fibers alternately upwards and downwards,
// so that a thread reading what another writes without a barrier in between sees the
// stale value in one of the two orders. The schedule is deterministic: a test gives the
// same result on every run. When every live fiber waits at a barrier that no other can
// reach (a barrier in divergent code), the launch fails with an error instead of hanging.
//
// Context switches: a few instructions of assembly on x86-64 (the callee-saved registers,
// the stack pointer, MXCSR and the x87 control word), ucontext elsewhere (or where
// XBARMC_SIMT_UCONTEXT is defined; checked by hand on x86-64, 2026-11-26). Under the
// address sanitizer every switch is announced to it (__sanitizer_start_switch_fiber).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "simt.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define XBARMC_SIMT_ASAN 1
#endif

#if defined(__x86_64__) && !defined(XBARMC_SIMT_UCONTEXT)
extern "C" void xbarmc_simt_switch(void** save_sp, void* to_sp);
// Saves the callee-saved registers, MXCSR and the x87 control word on the current stack,
// stores the stack pointer in *save_sp, and restores the same from to_sp.
asm(R"(
  .text
  .globl xbarmc_simt_switch
  .type xbarmc_simt_switch, @function
xbarmc_simt_switch:
  .cfi_startproc
  endbr64
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .cfi_endproc
  .size xbarmc_simt_switch, .-xbarmc_simt_switch
  .section .note.GNU-stack, "", @progbits
  .text
)");
#else
#include <ucontext.h>
#endif

namespace xbarmc::simt::emu {
namespace {

constexpr std::size_t kStackBytes = 512 * 1024;  // per fiber (the sanitizer's red zones included)

// A saved execution context, and its stack as the address sanitizer is told of it.
struct Context {
#if defined(__x86_64__) && !defined(XBARMC_SIMT_UCONTEXT)
  void* sp = nullptr;
#else
  ucontext_t uc{};
#endif
  const void* stack_bottom = nullptr;  // the scheduler's: learnt at the first switch into a fiber
  std::size_t stack_size = 0;
  void* fake_stack = nullptr;  // the sanitizer's, while switched away
};

// Saves the running context in `from` and resumes `to`; `from_ends`: `from` never resumes.
void switch_context(Context& from, Context& to, bool from_ends) {
#if defined(XBARMC_SIMT_ASAN)
  __sanitizer_start_switch_fiber(from_ends ? nullptr : &from.fake_stack, to.stack_bottom, to.stack_size);
#else
  (void)from_ends;
#endif
#if defined(__x86_64__) && !defined(XBARMC_SIMT_UCONTEXT)
  xbarmc_simt_switch(&from.sp, to.sp);
#else
  swapcontext(&from.uc, &to.uc);
#endif
#if defined(XBARMC_SIMT_ASAN)
  __sanitizer_finish_switch_fiber(from.fake_stack, nullptr, nullptr);
#endif
}

struct Fiber {
  int index = 0;
  Context context;  // its stack: kStackBytes from stack_bottom (a guard page below it)
  const std::uint64_t* wait_generation = nullptr;
  std::uint64_t wait_seen = 0;
  bool done = false;
  std::exception_ptr error;
};

struct Scheduler {
  std::vector<Fiber> fibers;
  Context context;
  Fiber* current = nullptr;
  void (*fn)(void*, int) = nullptr;
  void* ctx = nullptr;
};

thread_local Scheduler* scheduler = nullptr;

// From the running fiber back to the scheduler (`finished`: the fiber never resumes).
void to_scheduler(Fiber& f, bool finished) { switch_context(f.context, scheduler->context, finished); }

// From the scheduler into fiber f.
void to_fiber(Scheduler& s, Fiber& f) {
  s.current = &f;
  switch_context(s.context, f.context, false);
}

// Where a fiber starts: runs the body for its thread, then hands back for good.
extern "C" void fiber_entry() {
  Scheduler& s = *scheduler;
#if defined(XBARMC_SIMT_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &s.context.stack_bottom, &s.context.stack_size);
#endif
  Fiber& f = *s.current;
  try {
    s.fn(s.ctx, f.index);
  } catch (...) {
    f.error = std::current_exception();
  }
  f.done = true;
  to_scheduler(f, true);
  std::abort();  // never resumed
}

// Marks a stack's bytes usable for the address sanitizer: a fiber that never returns
// leaves its frames' red zones poisoned, and a later mapping may reuse the addresses.
void unpoison(void* p, std::size_t bytes) {
#if defined(XBARMC_SIMT_ASAN)
  __asan_unpoison_memory_region(p, bytes);
#else
  (void)p;
  (void)bytes;
#endif
}

// The fibers' stacks: one mapping, a guard page below each stack.
class Stacks {
 public:
  explicit Stacks(int n) : n_(n), page_(static_cast<std::size_t>(sysconf(_SC_PAGESIZE))), stride_(kStackBytes + page_) {
    bytes_ = stride_ * static_cast<std::size_t>(n);
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    base_ = static_cast<unsigned char*>(p);
    for (int i = 0; i < n; ++i) {
      mprotect(base_ + stride_ * static_cast<std::size_t>(i), page_, PROT_NONE);
      unpoison(stack(i), kStackBytes);
    }
  }
  ~Stacks() {
    for (int i = 0; i < n_; ++i) unpoison(stack(i), kStackBytes);
    munmap(base_, bytes_);
  }
  Stacks(const Stacks&) = delete;
  Stacks& operator=(const Stacks&) = delete;
  unsigned char* stack(int i) const { return base_ + stride_ * static_cast<std::size_t>(i) + page_; }

 private:
  int n_;
  std::size_t page_, stride_, bytes_ = 0;
  unsigned char* base_ = nullptr;
};

// Sets up fiber f to start at fiber_entry on `stack`.
void prepare(Fiber& f, Scheduler& s, unsigned char* stack) {
  f.context.stack_bottom = stack;
  f.context.stack_size = kStackBytes;
#if defined(__x86_64__) && !defined(XBARMC_SIMT_UCONTEXT)
  // The frame xbarmc_simt_switch pops: MXCSR and x87 control word, r15..r12, rbx, rbp,
  // then fiber_entry as the return address; above it an empty slot, so that fiber_entry
  // starts with the stack aligned as after a call.
  auto top = reinterpret_cast<std::uintptr_t>(stack + kStackBytes) & ~static_cast<std::uintptr_t>(15);
  auto* w = reinterpret_cast<std::uint64_t*>(top);
  w[-1] = 0;
  w[-2] = reinterpret_cast<std::uint64_t>(&fiber_entry);
  for (int r = 3; r <= 8; ++r) w[-r] = 0;
  std::uint32_t csr[2] = {0, 0};
  asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(csr[0]), "=m"(csr[1]));
  w[-9] = static_cast<std::uint64_t>(csr[0]) | (static_cast<std::uint64_t>(csr[1] & 0xffffu) << 32);
  f.context.sp = &w[-9];
  (void)s;
#else
  getcontext(&f.context.uc);
  f.context.uc.uc_stack.ss_sp = stack;
  f.context.uc.uc_stack.ss_size = kStackBytes;
  f.context.uc.uc_link = &s.context.uc;
  makecontext(&f.context.uc, fiber_entry, 0);
#endif
}

}  // namespace

void run_fibers(int n, void (*fn)(void*, int), void* ctx) {
  if (scheduler != nullptr) throw std::logic_error("simt emulator: a launch inside a launch");
  Stacks stacks(n);
  Scheduler s;
  s.fn = fn;
  s.ctx = ctx;
  s.fibers.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    Fiber& f = s.fibers[static_cast<std::size_t>(i)];
    f.index = i;
    prepare(f, s, stacks.stack(i));
  }
  scheduler = &s;
  struct Reset {
    ~Reset() { scheduler = nullptr; }
  } reset;
  int live = n;
  bool upwards = true;
  while (live > 0) {
    bool ran = false;
    for (int k = 0; k < n; ++k) {
      Fiber& f = s.fibers[static_cast<std::size_t>(upwards ? k : n - 1 - k)];
      if (f.done) continue;
      if (f.wait_generation != nullptr) {
        if (*f.wait_generation == f.wait_seen) continue;  // its barrier is still closed
        f.wait_generation = nullptr;
      }
      to_fiber(s, f);
      ran = true;
      if (f.done) --live;
    }
    upwards = !upwards;
    if (!ran && live > 0) {
      // Every live thread waits at a barrier that no other reaches: a thread that threw
      // left it, or the body has a barrier in divergent code. (The waiting fibers' stacks
      // are released unwound.)
      for (const Fiber& f : s.fibers)
        if (f.error) std::rethrow_exception(f.error);
      throw std::logic_error("simt emulator: deadlock, " + std::to_string(live) + " of " + std::to_string(n) +
                             " threads wait at barriers that the others never reach (a barrier in divergent code?)");
    }
  }
  for (const Fiber& f : s.fibers)
    if (f.error) std::rethrow_exception(f.error);
}

void wait_until_changed(const std::uint64_t* generation, std::uint64_t seen) {
  Fiber& f = *scheduler->current;
  f.wait_generation = generation;
  f.wait_seen = seen;
  to_scheduler(f, false);
}

int current_fiber() { return scheduler->current->index; }

}  // namespace xbarmc::simt::emu
