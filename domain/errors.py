"""Domain errors: a business rule said no. They become `rejected` results, never retried."""


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransientError(Exception):
    """Not a "no" but a "not now": a dependency failed. The command is retried with backoff."""


class EmailTaken(DomainError):
    code = "email_taken"


class UserAlreadyExists(DomainError):
    code = "user_exists"


class UnknownUser(DomainError):
    code = "unknown_user"


class UnsupportedCommand(DomainError):
    code = "unsupported_command"
