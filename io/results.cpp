#include "io/results.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "io/npy.h"
#include "ops/ctc.h"
#include "ops/error.h"

namespace fs = std::filesystem;

namespace mf {

namespace {

// A text output written in whole lines: a file is written under a temporary name and renamed
// into place by commit(); "-" is standard output.
class TextOut {
 public:
  explicit TextOut(std::string path) : path_(std::move(path)) {
    if (path_ == "-") { f_ = stdout; return; }
    tmp_ = path_ + ".partial";
    f_ = std::fopen(tmp_.c_str(), "w");
    if (!f_) fail(path_, ": cannot create: ", std::strerror(errno));
  }
  ~TextOut() {
    if (f_ && f_ != stdout) {
      std::fclose(f_);
      std::remove(tmp_.c_str());
    }
  }
  TextOut(const TextOut&) = delete;
  TextOut& operator=(const TextOut&) = delete;

  void line(const std::string& s) {  // s ends with '\n'
    if (std::fwrite(s.data(), 1, s.size(), f_) != s.size())
      fail(path_ == "-" ? std::string("standard output") : path_, ": write error: ", std::strerror(errno));
  }
  void flush() { std::fflush(f_); }
  void commit() {
    if (f_ == stdout) { std::fflush(stdout); return; }
    if (!f_) return;
    const bool bad = std::fflush(f_) != 0 || std::ferror(f_);
    std::fclose(f_);
    f_ = nullptr;
    if (bad || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
      std::remove(tmp_.c_str());
      fail(path_, ": cannot write: ", std::strerror(errno));
    }
  }

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
};

std::string fmt_prob(float p) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", double(p));
  return b;
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') { o += '\\'; o += char(c); }
    else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); o += b; }
    else o += char(c);
  }
  return o + "\"";
}

class TableSink final : public ResultSink {
 public:
  explicit TableSink(const TableOptions& o) : o_(o) {
    const size_t K = o_.labels.size();
    if (o_.task == Task::Tag && o_.thresholds.size() != K) o_.thresholds.assign(K, 0.5f);
    if (o_.format == TableFormat::BedGraph) {
      if (o_.output == "-") fail("--format bedgraph writes one file per label: give -o PREFIX (files PREFIX.LABEL.bedGraph)");
      std::vector<std::string> chosen = o_.tracks.empty() ? o_.labels : o_.tracks;
      for (const auto& t : chosen) {
        size_t k = 0;
        while (k < K && o_.labels[k] != t) ++k;
        if (k == K) fail("--track '", t, "' is not one of the model's labels");
        std::string safe;
        for (unsigned char c : t) safe += (std::isalnum(c) || c == '.' || c == '-' || c == '_') ? char(c) : '_';
        auto out = std::make_unique<TextOut>(o_.output + "." + safe + ".bedGraph");
        out->line("track type=bedGraph name=" + json_string(t) + " description=" +
                  json_string("mambaflow " + std::string(task_name(o_.task)) + " probability of " + t) + "\n");
        tracks_.push_back({k, std::move(out)});
      }
      return;
    }
    out_ = std::make_unique<TextOut>(o_.output);
    if (o_.format == TableFormat::Tsv) {
      std::string h = "#record\tstart\tend\tlabel\tscore";
      for (const auto& l : o_.labels) h += "\t" + l;
      out_->line(h + "\n");
    }
  }

  void windows(const RecordInfo& r, const WindowValues& w) override {
    const int64_t K = int64_t(o_.labels.size());
    if (w.width != K) fail("internal: ", w.width, " values per window for ", K, " labels");
    std::string s;
    for (int64_t i = 0; i < w.n; ++i) {
      const float* p = w.values + i * K;
      const int64_t start = r.offset + w.start[i], end = r.offset + w.end[i];
      const std::string coords = std::to_string(start) + "\t" + std::to_string(end);
      // Called labels: classify -> argmax; tag -> every label at or above its threshold.
      int64_t best = 0;
      for (int64_t k = 1; k < K; ++k)
        if (p[k] > p[best]) best = k;
      std::vector<int64_t> called;
      if (o_.task == Task::Classify) called.push_back(best);
      else
        for (int64_t k = 0; k < K; ++k)
          if (p[k] >= o_.thresholds[size_t(k)]) called.push_back(k);
      switch (o_.format) {
        case TableFormat::Tsv: {
          std::string names, score = called.empty() ? fmt_prob(p[best]) : fmt_prob(p[called[0]]);
          for (size_t j = 0; j < called.size(); ++j) names += (j ? "," : "") + o_.labels[size_t(called[j])];
          if (o_.task == Task::Tag && called.size() > 1) {
            float m = 0;
            for (auto k : called) m = std::max(m, p[k]);
            score = fmt_prob(m);
          }
          s += r.name + "\t" + coords + "\t" + (names.empty() ? "." : names) + "\t" + score;
          for (int64_t k = 0; k < K; ++k) s += "\t" + fmt_prob(p[k]);
          s += "\n";
          break;
        }
        case TableFormat::Jsonl: {
          s += "{\"record\":" + json_string(r.name) + ",\"start\":" + std::to_string(start) +
               ",\"end\":" + std::to_string(end);
          if (o_.task == Task::Classify) {
            s += ",\"label\":" + json_string(o_.labels[size_t(best)]) + ",\"score\":" + fmt_prob(p[best]);
          } else {
            s += ",\"labels\":[";
            for (size_t j = 0; j < called.size(); ++j) s += (j ? "," : "") + json_string(o_.labels[size_t(called[j])]);
            s += "]";
          }
          s += ",\"probs\":{";
          for (int64_t k = 0; k < K; ++k) s += (k ? "," : "") + json_string(o_.labels[size_t(k)]) + ":" + fmt_prob(p[k]);
          s += "}}\n";
          break;
        }
        case TableFormat::Bed:
          for (auto k : called) {
            const long score = std::lround(double(p[k]) * 1000.0);
            s += r.name + "\t" + coords + "\t" + o_.labels[size_t(k)] + "\t" + std::to_string(score) + "\t.\n";
          }
          break;
        case TableFormat::BedGraph:
          // Steps [start, start + stride); the record's last window covers to its end, and
          // which window is last is known only at end_record: each is written one late.
          flush_bedgraph(false);
          held_ = Held{true, r.name, start, end, std::vector<float>(p, p + K)};
          break;
      }
    }
    if (!s.empty() && out_) out_->line(s);
  }

  void end_record(const RecordInfo&, RecordEnd, int64_t) override {
    flush_bedgraph(true);
    if (out_) out_->flush();
    for (auto& t : tracks_) t.out->flush();
  }

  void finish() override {
    if (out_) out_->commit();
    for (auto& t : tracks_) t.out->commit();
  }

 private:
  struct Track {
    size_t label;
    std::unique_ptr<TextOut> out;
  };
  struct Held {
    bool valid = false;
    std::string record;
    int64_t start = 0, end = 0;
    std::vector<float> p;
  };
  void flush_bedgraph(bool last) {
    if (!held_.valid) return;
    const int64_t step_end = last ? held_.end : std::min(held_.end, held_.start + (o_.stride > 0 ? o_.stride : held_.end - held_.start));
    for (auto& t : tracks_)
      t.out->line(held_.record + "\t" + std::to_string(held_.start) + "\t" + std::to_string(step_end) + "\t" +
                  fmt_prob(held_.p[t.label]) + "\n");
    held_.valid = false;
  }
  Held held_;
  TableOptions o_;
  std::unique_ptr<TextOut> out_;
  std::vector<Track> tracks_;
};

std::string seconds_str(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", s);
  return b;
}

class EventSink final : public ResultSink {
 public:
  explicit EventSink(const EventOptions& o) : o_(o), out_(o.output) {
    const size_t K = o_.labels.size();
    if (o_.format != TableFormat::Tsv && o_.format != TableFormat::Jsonl)
      fail("audio tag events are written as tsv or jsonl");
    if (o_.thresholds.size() != K) o_.thresholds.assign(K, 0.5f);
    if (o_.off_thresholds.size() != K) o_.off_thresholds = o_.thresholds;
    if (o_.format == TableFormat::Tsv) out_.line("#file\tstart\tend\tlabel\tscore\n");
  }
  void begin_record(const RecordInfo&) override { open_.assign(o_.labels.size(), Open{}); }
  void windows(const RecordInfo& r, const WindowValues& w) override {
    const size_t K = o_.labels.size();
    if (w.width != int64_t(K)) fail("internal: ", w.width, " values per window for ", K, " labels");
    std::string s;
    for (int64_t i = 0; i < w.n; ++i)
      for (size_t k = 0; k < K; ++k) {
        const float p = w.values[size_t(i) * K + k];
        Open& e = open_[k];
        if (e.on && p >= o_.off_thresholds[k]) {
          e.end = w.end[i];
          e.score = std::max(e.score, p);
        } else if (e.on) {
          s += event(r, k);
          e.on = false;
        }
        if (!e.on && p >= o_.thresholds[k]) e = Open{true, w.start[i], w.end[i], p};
      }
    if (!s.empty()) { out_.line(s); out_.flush(); }
  }
  void end_record(const RecordInfo& r, RecordEnd, int64_t) override {
    std::string s;
    for (size_t k = 0; k < open_.size(); ++k)
      if (open_[k].on) { s += event(r, k); open_[k].on = false; }
    if (!s.empty()) out_.line(s);
    out_.flush();
  }
  void finish() override { out_.commit(); }

 private:
  struct Open {
    bool on = false;
    int64_t start = 0, end = 0;
    float score = 0;
  };
  std::string event(const RecordInfo& r, size_t k) const {
    const Open& e = open_[k];
    const std::string start = seconds_str(double(r.offset + e.start) / o_.rate);
    const std::string end = seconds_str(double(r.offset + e.end) / o_.rate);
    if (o_.format == TableFormat::Tsv)
      return r.name + "\t" + start + "\t" + end + "\t" + o_.labels[k] + "\t" + fmt_prob(e.score) + "\n";
    return "{\"file\":" + json_string(r.name) + ",\"start\":" + start + ",\"end\":" + end +
           ",\"label\":" + json_string(o_.labels[k]) + ",\"score\":" + fmt_prob(e.score) + "}\n";
  }
  EventOptions o_;
  TextOut out_;
  std::vector<Open> open_;
};

std::string timestamp(double seconds, char sep) {
  const long ms = std::lround(std::max(seconds, 0.0) * 1000.0);
  char b[32];
  std::snprintf(b, sizeof b, "%02ld:%02ld:%02ld%c%03ld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, sep, ms % 1000);
  return b;
}

class TranscriptSink final : public ResultSink {
 public:
  explicit TranscriptSink(const TranscriptOptions& o) : o_(o), out_(o.output) {
    if (o_.format == TranscriptFormat::Vtt) out_.line("WEBVTT\n\n");
  }
  void begin_record(const RecordInfo& r) override {
    if ((o_.format == TranscriptFormat::Srt || o_.format == TranscriptFormat::Vtt) && ++records_ > 1)
      fail(r.input, ": SRT and VTT output takes one input (one timeline); give one input per output file");
    clear_segment();
    prev_ = carried_ = -1;
  }
  void windows(const RecordInfo& r, const WindowValues& w) override {
    const int64_t K = int64_t(o_.labels.size());
    for (int64_t i = 0; i < w.n; ++i) {
      const float* p = w.values + i * K;
      frames_.insert(frames_.end(), p, p + K);
      start_.push_back(r.offset + w.start[i]);
      end_.push_back(r.offset + w.end[i]);
      best_.push_back(int32_t(std::max_element(p, p + K) - p));
      const bool blank = best_.back() == o_.blank;
      blank_run_ = blank ? blank_run_ + 1 : 0;
      voiced_ |= !blank;
      const double run_s = blank_run_ > 0 ? double(end_.back() - start_[start_.size() - size_t(blank_run_)]) / o_.rate : 0;
      const double len_s = double(end_.back() - start_.front()) / o_.rate;
      if ((voiced_ && run_s >= o_.pause) || len_s >= o_.max_segment) flush_segment(r);
    }
    out_.flush();
  }
  void end_record(const RecordInfo& r, RecordEnd, int64_t) override {
    flush_segment(r);
    out_.flush();
  }
  void finish() override {
    if (o_.format == TranscriptFormat::Json) {
      std::string s = "{\"segments\": [";
      for (size_t i = 0; i < json_.size(); ++i) s += (i ? ",\n  " : "\n  ") + json_[i];
      out_.line(s + (json_.empty() ? "]}\n" : "\n]}\n"));
    }
    out_.commit();
  }

 private:
  struct Word {
    std::string text;
    int64_t start, end;
  };
  void clear_segment() {
    frames_.clear(); start_.clear(); end_.clear(); best_.clear();
    blank_run_ = 0;
    voiced_ = false;
  }
  void flush_segment(const RecordInfo& r) {
    const int64_t n = int64_t(start_.size());
    if (n == 0) return;
    const int64_t K = int64_t(o_.labels.size());
    auto syms = o_.beam > 0 ? ctc_prefix_beam(frames_.data(), n, K, o_.blank, o_.beam)
                            : ctc_greedy(frames_.data(), n, K, o_.blank, prev_);
    if (o_.beam > 0) {
      // A cut at max_segment can fall inside a symbol: do not emit it again on this side.
      if (!syms.empty() && syms[0].frame == 0 && syms[0].label == carried_) syms.erase(syms.begin());
      carried_ = best_.back() == o_.blank ? -1 : best_.back();
    }
    std::vector<Word> words;
    bool open = false;
    for (const auto& sym : syms) {
      const std::string& l = o_.labels[size_t(sym.label)];
      if (l == " ") { open = false; continue; }
      if (!open) { words.push_back({"", start_[size_t(sym.frame)], 0}); open = true; }
      words.back().text += l;
      // The symbol lasts while it stays the frames' best label.
      int64_t f = sym.frame;
      while (f + 1 < n && best_[size_t(f + 1)] == sym.label) ++f;
      words.back().end = end_[size_t(f)];
    }
    clear_segment();
    if (words.empty()) return;
    std::string text;
    for (const auto& w : words) text += (text.empty() ? "" : " ") + w.text;
    const double t0 = double(words.front().start) / o_.rate, t1 = double(words.back().end) / o_.rate;
    switch (o_.format) {
      case TranscriptFormat::Txt: out_.line(text + "\n"); break;
      case TranscriptFormat::Srt:
        out_.line(std::to_string(++cues_) + "\n" + timestamp(t0, ',') + " --> " + timestamp(t1, ',') + "\n" + text + "\n\n");
        break;
      case TranscriptFormat::Vtt:
        out_.line(timestamp(t0, '.') + " --> " + timestamp(t1, '.') + "\n" + text + "\n\n");
        break;
      case TranscriptFormat::Json:
      case TranscriptFormat::Jsonl: {
        std::string j = "{\"file\": " + json_string(r.name) + ", \"start\": " + seconds_str(t0) + ", \"end\": " +
                        seconds_str(t1) + ", \"text\": " + json_string(text) + ", \"words\": [";
        for (size_t i = 0; i < words.size(); ++i)
          j += (i ? ", " : "") + std::string("{\"word\": ") + json_string(words[i].text) + ", \"start\": " +
               seconds_str(double(words[i].start) / o_.rate) + ", \"end\": " + seconds_str(double(words[i].end) / o_.rate) + "}";
        j += "]}";
        if (o_.format == TranscriptFormat::Jsonl) out_.line(j + "\n");
        else json_.push_back(j);
        break;
      }
    }
  }
  TranscriptOptions o_;
  TextOut out_;
  std::vector<float> frames_;
  std::vector<int64_t> start_, end_;
  std::vector<int32_t> best_;  // each frame's most probable label
  int64_t blank_run_ = 0, records_ = 0, cues_ = 0;
  bool voiced_ = false;
  int32_t prev_ = -1, carried_ = -1;  // carried_: beam, the symbol running at the last cut
  std::vector<std::string> json_;
};

// A file name for a record: its name with anything but [A-Za-z0-9._-] replaced by '_'.
std::string file_name_for(const std::string& record, std::set<std::string>& used) {
  std::string base;
  for (unsigned char c : record) base += (std::isalnum(c) || c == '.' || c == '_' || c == '-') ? char(c) : '_';
  if (base.empty() || base[0] == '.') base = "_" + base;
  std::string name = base;
  for (int i = 2; used.count(name); ++i) name = base + "_" + std::to_string(i);
  used.insert(name);
  return name + ".npy";
}

class NpySink final : public ResultSink {
 public:
  NpySink(std::string output, int64_t width, const std::vector<std::string>& inputs)
      : out_(std::move(output)), width_(width) {
    single_ = out_.size() > 4 && out_.compare(out_.size() - 4, 4, ".npy") == 0;
    if (single_ && inputs.size() > 1) fail("-o ", out_, " is one .npy file, but ", inputs.size(), " inputs were given: give -o a directory");
    if (!single_) {
      std::error_code ec;
      fs::create_directories(out_, ec);
      if (ec || !fs::is_directory(out_)) fail(out_, ": cannot create the output directory");
      // Several inputs: one subdirectory each, named after the input in input order, so names
      // never depend on which input's records happen to arrive first.
      std::set<std::string> dirs;
      for (size_t i = 0; inputs.size() > 1 && i < inputs.size(); ++i) {
        std::string name = file_name_for(inputs[i] == "-" ? "stdin" : fs::path(inputs[i]).filename().string(), dirs);
        name.resize(name.size() - 4);  // file_name_for adds ".npy"
        subdirs_.push_back(name);
      }
      used_.resize(std::max<size_t>(inputs.size(), 1));
    }
  }
  bool ordered() const override { return false; }

  void begin_record(const RecordInfo& r) override {
    if (single_ && ++records_ > 1)
      fail(r.input, " holds more than one record ('", first_, "', '", r.name,
           "', ...): give -o a directory to write one .npy per record");
    if (single_) first_ = r.name;
    std::string path = out_;
    if (!single_) {
      fs::path dir(out_);
      if (!subdirs_.empty()) {
        dir /= subdirs_.at(size_t(r.input_index));
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) fail(dir.string(), ": cannot create the output directory");
      }
      path = (dir / file_name_for(r.name, used_.at(subdirs_.empty() ? 0 : size_t(r.input_index)))).string();
    }
    open_[key(r)] = std::make_unique<NpyWriter>(path, width_);
  }
  void windows(const RecordInfo& r, const WindowValues& w) override { writer(r).append(w.values, w.n); }
  void positions(const RecordInfo& r, const float* rows, int64_t n, int64_t) override { writer(r).append(rows, n); }
  void end_record(const RecordInfo& r, RecordEnd how, int64_t) override {
    auto it = open_.find(key(r));
    if (it == open_.end()) return;
    if (how != RecordEnd::Complete) { open_.erase(it); return; }  // the .partial file is removed
    if (it->second->rows() == 0)
      std::fprintf(stderr, "mambaflow: warning: %s: record '%s' is empty (wrote shape [0, %lld])\n",
                   r.input.c_str(), r.name.c_str(), (long long)width_);
    if (single_) { pending_ = std::move(it->second); open_.erase(it); return; }
    it->second->commit();
    open_.erase(it);
  }
  void finish() override {
    if (pending_) pending_->commit();
  }

 private:
  static std::pair<int64_t, int64_t> key(const RecordInfo& r) { return {r.input_index, r.record_index}; }
  NpyWriter& writer(const RecordInfo& r) {
    auto it = open_.find(key(r));
    if (it == open_.end()) fail("internal: results for record '", r.name, "' before it began");
    return *it->second;
  }
  std::string out_;
  int64_t width_;
  bool single_ = false;
  int64_t records_ = 0;
  std::string first_;
  std::vector<std::set<std::string>> used_;  // per output directory
  std::vector<std::string> subdirs_;
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<NpyWriter>> open_;
  std::unique_ptr<NpyWriter> pending_;
};

}  // namespace

TableFormat parse_table_format(const std::string& name) {
  if (name == "tsv") return TableFormat::Tsv;
  if (name == "jsonl") return TableFormat::Jsonl;
  if (name == "bed") return TableFormat::Bed;
  if (name == "bedgraph") return TableFormat::BedGraph;
  fail("format '", name, "' is not one of tsv, jsonl, bed, bedgraph");
}

std::unique_ptr<ResultSink> make_table_sink(const TableOptions& options) {
  return std::make_unique<TableSink>(options);
}

std::unique_ptr<ResultSink> make_event_sink(const EventOptions& options) {
  return std::make_unique<EventSink>(options);
}

TranscriptFormat parse_transcript_format(const std::string& name) {
  if (name == "txt") return TranscriptFormat::Txt;
  if (name == "srt") return TranscriptFormat::Srt;
  if (name == "vtt") return TranscriptFormat::Vtt;
  if (name == "json") return TranscriptFormat::Json;
  if (name == "jsonl") return TranscriptFormat::Jsonl;
  fail("format '", name, "' is not one of txt, srt, vtt, json, jsonl");
}

std::unique_ptr<ResultSink> make_transcript_sink(const TranscriptOptions& options) {
  return std::make_unique<TranscriptSink>(options);
}

std::unique_ptr<ResultSink> make_npy_sink(const std::string& output, int64_t width,
                                          const std::vector<std::string>& inputs) {
  return std::make_unique<NpySink>(output, width, inputs);
}

}  // namespace mf
