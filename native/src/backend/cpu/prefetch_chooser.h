// Whether the decode of one sequence prefetches its weight stream in software: chosen on the
// running decode, pass by pass, by timing both ways (kernels/driver.h says why no constant does:
// the answer depends on the kernel set, and for AVX2 on the host's memory latency, which moves from
// minute to minute on a shared cloud host).
//
// The chooser sees only passes of one token (decode of one sequence, where the weight stream is the
// whole cost). It opens with kOpeningPairs pairs of passes, one each way in alternating order, and
// prefers the way whose pair ratios' median is faster by more than kMargin (prefetch on when
// neither is). After that, every kPeriod-th pass runs the other way once (a trial); its time
// against the mean of the preferred passes just before and after it is one ratio, and when the
// median of the last kWindow ratios says the other way is faster by more than kMargin, it becomes
// the preferred one. Trials cost about (slowdown) / kPeriod: under 1% for the 5-20% differences
// measured. A change of the host's state is followed within kWindow * kPeriod passes (128; 3-4 s
// of decode at 30-40 tok/s). The way chosen never changes results: prefetches only move data.
//
// Not thread-safe: the CPU backend calls it under its lock.
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace gb {

class WeightPrefetchChooser {
 public:
  enum class Mode { kAuto, kOn, kOff };
  static constexpr int kOpeningPairs = 8;
  static constexpr int kPeriod = 16;
  static constexpr int kWindow = 8;
  static constexpr double kMargin = 0.02;

  explicit WeightPrefetchChooser(Mode mode = Mode::kAuto) : mode_(mode), preferred_(mode != Mode::kOff) {}

  // "auto", "on", "off" (GEARBOX_WEIGHT_PREFETCH's values) and back; parse_mode is false for others.
  static bool parse_mode(const std::string& name, Mode* out) {
    for (Mode m : {Mode::kAuto, Mode::kOn, Mode::kOff})
      if (name == mode_name(m)) {
        *out = m;
        return true;
      }
    return false;
  }
  static const char* mode_name(Mode m) { return m == Mode::kAuto ? "auto" : (m == Mode::kOn ? "on" : "off"); }

  Mode mode() const { return mode_; }
  // The way currently preferred (with kOn / kOff: the forced one).
  bool preferred() const { return preferred_; }
  // Times the preferred way changed after the opening.
  int64_t switches() const { return switches_; }
  // Passes run the other way to check the choice (the opening's included).
  int64_t trials() const { return trials_; }

  // Whether the next one-token pass prefetches.
  bool next() const {
    if (mode_ != Mode::kAuto) return mode_ == Mode::kOn;
    if (opening_ < 2 * kOpeningPairs) {
      const int pair = opening_ / 2, half = opening_ % 2;
      return (pair % 2 == 0) == (half == 0);  // pairs alternate on-off, off-on, ...
    }
    return since_trial_ >= kPeriod ? !preferred_ : preferred_;
  }

  // Records the pass just run: which way it went and how long it took.
  void record(bool prefetch, double ms) {
    if (mode_ != Mode::kAuto || !(ms > 0)) return;
    if (opening_ < 2 * kOpeningPairs) {
      (prefetch ? pair_on_ : pair_off_) = ms;
      if (prefetch != preferred_) trials_++;
      if (++opening_ % 2 == 0) push(pair_off_ / pair_on_);  // off / on: below 1 when off is faster
      if (opening_ == 2 * kOpeningPairs) {
        const double r = median();
        preferred_ = !(r < 1 - kMargin);
        count_ = 0;
        since_trial_ = 0;
      }
      return;
    }
    if (prefetch != preferred_) {  // a trial: wait for the preferred pass after it
      trial_ms_ = ms;
      trials_++;
      since_trial_ = 0;
      return;
    }
    bool switched = false;
    if (trial_ms_ > 0 && last_preferred_ms_ > 0) {
      push(trial_ms_ / ((last_preferred_ms_ + ms) / 2));  // other / preferred
      if (count_ == kWindow && median() < 1 - kMargin) {
        preferred_ = !preferred_;
        switches_++;
        count_ = 0;
        switched = true;
      }
    }
    trial_ms_ = 0;
    // After a switch this pass went the way no longer preferred: it is no "before" for a trial, and
    // a full period of the new way runs before the next trial.
    last_preferred_ms_ = switched ? 0 : ms;
    since_trial_ = switched ? 0 : since_trial_ + 1;
  }

 private:
  void push(double ratio) {
    ratios_[static_cast<size_t>(head_)] = ratio;
    head_ = (head_ + 1) % kWindow;
    if (count_ < kWindow) count_++;
  }
  double median() const {
    double v[kWindow];
    for (int i = 0; i < count_; i++) {  // insertion sort of the (at most kWindow) ratios
      const double r = ratios_[static_cast<size_t>((head_ - 1 - i + kWindow) % kWindow)];
      int j = i;
      for (; j > 0 && v[j - 1] > r; j--) v[j] = v[j - 1];
      v[j] = r;
    }
    return count_ % 2 ? v[count_ / 2] : (v[count_ / 2 - 1] + v[count_ / 2]) / 2;
  }

  Mode mode_;
  bool preferred_;
  int opening_ = 0;
  double pair_on_ = 0, pair_off_ = 0;
  int since_trial_ = 0;
  double trial_ms_ = 0, last_preferred_ms_ = 0;
  std::array<double, kWindow> ratios_{};
  int head_ = 0, count_ = 0;
  int64_t switches_ = 0, trials_ = 0;
};

}  // namespace gb
