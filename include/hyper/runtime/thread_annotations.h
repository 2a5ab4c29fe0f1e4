// Clang's thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html):
// the clang build checks them with -Wthread-safety; other compilers see nothing. Use them with
// runtime::Mutex (std::mutex carries no annotations in libstdc++).
//
//   runtime::Mutex mu_;
//   int count_ GUARDED_BY(mu_);
//   void Bump() REQUIRES(mu_);
#pragma once

#if defined(__clang__)
#define HYPER_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define HYPER_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) HYPER_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY HYPER_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) HYPER_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) HYPER_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) HYPER_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) HYPER_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) HYPER_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) HYPER_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) HYPER_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) HYPER_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) HYPER_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) HYPER_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) HYPER_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS HYPER_THREAD_ANNOTATION(no_thread_safety_analysis)
