#include "hyper/swarm/race_sockets.h"

#include <utility>

namespace hyper::swarm {

RaceSocketFactory::RaceSocketFactory(runtime::SocketFactory& first, std::string first_name,
                                     runtime::SocketFactory& second, std::string second_name)
    : factories_{&first, &second}, names_{std::move(first_name), std::move(second_name)} {}

std::function<void()> RaceSocketFactory::Connect(const std::string& host, uint16_t port,
                                                 Connected done) {
  struct State {
    Connected done;
    std::function<void()> give_up[2];
    bool reported[2] = {false, false};
    std::string errors[2];
    bool finished = false;
  };
  auto race = std::make_shared<State>();
  race->done = std::move(done);
  const std::string names[2] = {names_[0], names_[1]};
  for (int i = 0; i < 2; ++i) {
    auto give_up = factories_[i]->Connect(
        host, port, [race, i, name = names[i]](Result<std::unique_ptr<runtime::Socket>> r) {
          race->reported[i] = true;
          race->give_up[i] = nullptr;
          if (race->finished) return;  // the other won (or the race was given up): r closes
          if (r.ok()) {
            race->finished = true;
            // The loser stops; its report (Cancelled) finds the race finished.
            if (auto other = std::exchange(race->give_up[1 - i], nullptr)) other();
            auto d = std::exchange(race->done, nullptr);
            d(std::move(r));
            return;
          }
          race->errors[i] = name + ": " + r.status().ToString();
          if (!race->reported[1 - i]) return;
          race->finished = true;
          auto d = std::exchange(race->done, nullptr);
          d(Status::IOError(race->errors[0] + "; " + race->errors[1]));
        });
    if (!race->reported[i]) race->give_up[i] = std::move(give_up);
  }
  return [race] {
    if (race->finished) return;
    race->finished = true;
    for (auto& g : race->give_up) {
      if (auto f = std::exchange(g, nullptr)) f();
    }
    auto d = std::exchange(race->done, nullptr);
    d(Status::Cancelled("connect given up"));
  };
}

Result<std::unique_ptr<runtime::Listener>> RaceSocketFactory::Listen(const std::string&, uint16_t,
                                                                     Accepted) {
  return Status::InvalidArgument("a racing socket factory only connects: listen on each");
}

}  // namespace hyper::swarm
