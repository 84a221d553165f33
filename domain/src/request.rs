//! Validated values of an assessment request. Each `parse` either returns a value the rest of
//! the system can trust or a `RequestError` whose message is safe to show the client.

use serde::{Deserialize, Serialize};

/// Longest accepted job role, in characters.
pub const MAX_JOB_ROLE_CHARS: usize = 200;
/// Longest accepted job description, in characters.
pub const MAX_JOB_DESCRIPTION_CHARS: usize = 20_000;
/// Longest accepted notification URL, in bytes.
pub const MAX_NOTIFICATION_URL_LEN: usize = 2_048;
/// Passing score used when the request names none.
pub const DEFAULT_CUTOFF: u8 = 40;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The seed API's own wording for a missing, null, non-string or blank role or description.
    #[error("Job role and job description are required")]
    MissingRoleOrDescription,
    #[error("job_role must be at most {MAX_JOB_ROLE_CHARS} characters")]
    JobRoleTooLong,
    #[error("job_description must be at most {MAX_JOB_DESCRIPTION_CHARS} characters")]
    JobDescriptionTooLong,
    #[error("cutoff must be an integer between 0 and 100")]
    InvalidCutoff,
    #[error("notification_url must be an absolute http or https URL")]
    InvalidNotificationUrl,
}

/// The job title, trimmed and non-empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRole(String);

impl JobRole {
    pub fn parse(raw: &str) -> Result<Self, RequestError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(RequestError::MissingRoleOrDescription);
        }
        if trimmed.chars().count() > MAX_JOB_ROLE_CHARS {
            return Err(RequestError::JobRoleTooLong);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The job description, trimmed and non-empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDescription(String);

impl JobDescription {
    pub fn parse(raw: &str) -> Result<Self, RequestError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(RequestError::MissingRoleOrDescription);
        }
        if trimmed.chars().count() > MAX_JOB_DESCRIPTION_CHARS {
            return Err(RequestError::JobDescriptionTooLong);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Minimum passing score in percent, 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cutoff(u8);

impl Cutoff {
    /// `None` means the request did not name a cutoff, so the default applies.
    pub fn parse(raw: Option<i64>) -> Result<Self, RequestError> {
        match raw {
            None => Ok(Self(DEFAULT_CUTOFF)),
            Some(value @ 0..=100) => Ok(Self(value as u8)),
            Some(_) => Err(RequestError::InvalidCutoff),
        }
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

/// Where status updates of the job are posted: an absolute http(s) URL with a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationUrl(String);

impl NotificationUrl {
    pub fn parse(raw: &str) -> Result<Self, RequestError> {
        let trimmed = raw.trim();
        if trimmed.len() > MAX_NOTIFICATION_URL_LEN {
            return Err(RequestError::InvalidNotificationUrl);
        }
        let url = url::Url::parse(trimmed).map_err(|_| RequestError::InvalidNotificationUrl)?;
        let has_host = url.host_str().is_some_and(|h| !h.is_empty());
        if !matches!(url.scheme(), "http" | "https") || !has_host {
            return Err(RequestError::InvalidNotificationUrl);
        }
        Ok(Self(url.to_string()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_role_or_description_is_missing() {
        assert_eq!(
            JobRole::parse("  "),
            Err(RequestError::MissingRoleOrDescription)
        );
        assert_eq!(
            JobDescription::parse("\n"),
            Err(RequestError::MissingRoleOrDescription)
        );
    }

    #[test]
    fn role_and_description_are_trimmed_and_limited() {
        assert_eq!(JobRole::parse(" Nurse ").unwrap().into_inner(), "Nurse");
        let long = "x".repeat(MAX_JOB_DESCRIPTION_CHARS + 1);
        assert_eq!(
            JobDescription::parse(&long),
            Err(RequestError::JobDescriptionTooLong)
        );
        let long_role = "x".repeat(MAX_JOB_ROLE_CHARS + 1);
        assert_eq!(
            JobRole::parse(&long_role),
            Err(RequestError::JobRoleTooLong)
        );
    }

    #[test]
    fn cutoff_defaults_to_40_and_stays_within_0_to_100() {
        assert_eq!(Cutoff::parse(None).unwrap().value(), 40);
        assert_eq!(Cutoff::parse(Some(0)).unwrap().value(), 0);
        assert_eq!(Cutoff::parse(Some(100)).unwrap().value(), 100);
        assert_eq!(Cutoff::parse(Some(101)), Err(RequestError::InvalidCutoff));
        assert_eq!(Cutoff::parse(Some(-1)), Err(RequestError::InvalidCutoff));
    }

    #[test]
    fn notification_url_must_be_absolute_http() {
        assert!(NotificationUrl::parse("https://example.com/hook").is_ok());
        assert!(NotificationUrl::parse("http://127.0.0.1:9000/x").is_ok());
        for bad in [
            "/relative",
            "ftp://example.com",
            "mailto:a@b.c",
            "https://",
            "not a url",
        ] {
            assert_eq!(
                NotificationUrl::parse(bad),
                Err(RequestError::InvalidNotificationUrl),
                "{bad}"
            );
        }
    }
}
