"""The two errors the pure mappers raise.

ValueError
 ├── MappingError       FHIR in or out does not fit: a bug or a broken EHR; not for users
 └── ReferralRuleError  a domain rule (docs/domain-rules.md) refused the referral; message for users
"""


class MappingError(ValueError):
    """A resource could not be read or written as FHIR R4: https://hl7.org/fhir/R4/validation.html."""


class ReferralRuleError(ValueError):
    """A referral breaks a domain rule; the message is plain words shown to the ATP."""
