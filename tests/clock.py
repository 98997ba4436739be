"""A clock a test moves by hand, for the code that takes one (`clock=`)."""


class ManualClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
