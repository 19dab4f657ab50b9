//! [`Region`]: which 8x8 Event Streaming host serves a Contact Center
//! cluster (`8x8.md` §2.2).

use std::fmt;
use std::str::FromStr;

/// An 8x8 Event Streaming region: the WebSocket host that serves a group of
/// Contact Center clusters.
///
/// Find yours from the cluster in the `vcc-<cluster>.8x8.com` address shown
/// in Configuration Manager ([`Region::from_cluster`]). Regions that have no
/// streaming host yet are announced by 8x8 later: use [`Region::Custom`]
/// with the host they publish.
///
/// ```
/// use pulsar_eventstream::eightbyeight::Region;
///
/// assert_eq!(Region::from_cluster("NA7")?, Region::Us2);
/// assert_eq!(Region::from_cluster("vcc-eu4.8x8.com")?, Region::Uk3);
/// assert_eq!(Region::Uk3.service_url(), "wss://pulsar-ws-euw2.8x8.com");
/// assert_eq!("us1".parse::<Region>()?, Region::Us1);
///
/// let err = Region::from_cluster("AU1").unwrap_err();
/// assert!(err.to_string().contains("no Event Streaming host yet"));
/// # Ok::<(), pulsar_eventstream::eightbyeight::RegionError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Region {
    /// UK3 (formerly EUW2): clusters EU4–EU14, `pulsar-ws-euw2.8x8.com`.
    Uk3,
    /// US1: clusters NA1–NA6, NA11–NA16, SB1, `pulsar-ws-use1.8x8.com`.
    Us1,
    /// US2: clusters NA7–NA10, NA17–NA20, NA27–NA30, NA37–NA39,
    /// `pulsar-ws-usw2.8x8.com`.
    Us2,
    /// Any other host, e.g. of a region announced after this version:
    /// `"pulsar-ws-xxx.8x8.com"` (served over `wss://`), or a full URL with
    /// its scheme (`"ws://127.0.0.1:8080"`), used as it is.
    Custom(String),
}

/// Why a cluster or region name gives no host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegionError {
    /// The cluster or region is known, but 8x8 has not opened an Event
    /// Streaming host for it yet.
    #[error(
        "8x8 {name} (region {region}) has no Event Streaming host yet; when 8x8 announces one, \
         connect with Region::Custom(\"<host>\") (or --service-url wss://<host>)"
    )]
    NoHostYet {
        /// The cluster or region as understood (upper case, e.g. `AU1`).
        name: String,
        /// The 8x8 region (site) it belongs to, e.g. `SY1`.
        region: String,
    },
    /// Not a cluster or region this crate knows.
    #[error(
        "unknown 8x8 cluster or region {input:?}: expected a cluster such as NA7 or EU4 (the \
         vcc-<cluster>.8x8.com address in Configuration Manager) or a region UK3, US1, US2; \
         for another host use Region::Custom(\"<host>\")"
    )]
    Unknown {
        /// The input (truncated).
        input: String,
    },
}

impl From<RegionError> for crate::Error {
    fn from(e: RegionError) -> Self {
        crate::Error::Config(e.to_string())
    }
}

/// Where a group of clusters is served.
#[derive(Clone, Copy)]
enum Site {
    Open(AvailableRegion),
    Pending(&'static str),
}

#[derive(Clone, Copy)]
enum AvailableRegion {
    Uk3,
    Us1,
    Us2,
}

impl AvailableRegion {
    fn region(self) -> Region {
        match self {
            AvailableRegion::Uk3 => Region::Uk3,
            AvailableRegion::Us1 => Region::Us1,
            AvailableRegion::Us2 => Region::Us2,
        }
    }
}

/// Cluster ranges (prefix, first, last, site), from `8x8.md` §2.2.
const CLUSTERS: &[(&str, u32, u32, Site)] = {
    use AvailableRegion::*;
    use Site::*;
    &[
        ("EU", 4, 14, Open(Uk3)),
        ("NA", 1, 6, Open(Us1)),
        ("NA", 11, 16, Open(Us1)),
        ("SB", 1, 1, Open(Us1)),
        ("NA", 7, 10, Open(Us2)),
        ("NA", 17, 20, Open(Us2)),
        ("NA", 27, 30, Open(Us2)),
        ("NA", 37, 39, Open(Us2)),
        ("AP", 1, 1, Pending("HK1")),
        ("AP", 21, 21, Pending("HK2")),
        ("EU", 21, 21, Pending("LH1")),
        ("BC", 1, 3, Pending("ON1")),
        ("EU", 31, 31, Pending("PA1")),
        ("CA", 1, 2, Pending("SK1")),
        ("AU", 1, 2, Pending("SY1")),
    ]
};

/// Region (site) names with no host yet.
const PENDING_REGIONS: [&str; 7] = ["HK1", "HK2", "LH1", "ON1", "PA1", "SK1", "SY1"];

impl Region {
    /// The region serving a Contact Center cluster: `"NA7"`, `"na7"`,
    /// `"vcc-na7.8x8.com"` and `"https://vcc-na7.8x8.com/…"` all work.
    ///
    /// Clusters of regions without a streaming host yet (AP1, AP21, EU21,
    /// BC1–BC3, EU31, CA1–CA2, AU1–AU2) give [`RegionError::NoHostYet`].
    pub fn from_cluster(cluster: &str) -> Result<Region, RegionError> {
        let name = normalise(cluster);
        let unknown = || RegionError::Unknown {
            input: cluster.chars().take(100).collect(),
        };
        let split = name
            .find(|c: char| c.is_ascii_digit())
            .ok_or_else(unknown)?;
        let (prefix, digits) = name.split_at(split);
        let number: u32 = digits.parse().map_err(|_| unknown())?;
        let (_, _, _, site) = CLUSTERS
            .iter()
            .find(|(p, lo, hi, _)| *p == prefix && (*lo..=*hi).contains(&number))
            .ok_or_else(unknown)?;
        match site {
            Site::Open(region) => Ok(region.region()),
            Site::Pending(region) => Err(RegionError::NoHostYet {
                name: format!("cluster {name}"),
                region: (*region).to_string(),
            }),
        }
    }

    /// The WebSocket host, e.g. `pulsar-ws-euw2.8x8.com` (a custom region's
    /// text as given).
    pub fn host(&self) -> &str {
        match self {
            Region::Uk3 => "pulsar-ws-euw2.8x8.com",
            Region::Us1 => "pulsar-ws-use1.8x8.com",
            Region::Us2 => "pulsar-ws-usw2.8x8.com",
            Region::Custom(host) => host.trim(),
        }
    }

    /// The service URL to give [`Client::builder`](crate::Client::builder):
    /// `wss://{host}`, or a custom region's URL when it has a scheme.
    pub fn service_url(&self) -> String {
        let host = self.host();
        if host.contains("://") {
            host.to_string()
        } else {
            format!("wss://{host}")
        }
    }

    /// The region's 8x8 name (`UK3`, `US1`, `US2`), or a custom host.
    pub fn name(&self) -> &str {
        match self {
            Region::Uk3 => "UK3",
            Region::Us1 => "US1",
            Region::Us2 => "US2",
            Region::Custom(host) => host.trim(),
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Region {
    type Err = RegionError;

    /// Reads a region name (`uk3`, `us1`, `us2`, any case; the old names
    /// `euw2`, `use1`, `usw2`; the hosts themselves) or else a cluster name
    /// ([`Region::from_cluster`]).
    fn from_str(s: &str) -> Result<Region, RegionError> {
        let name = normalise(s);
        for region in [Region::Uk3, Region::Us1, Region::Us2] {
            let host = normalise(region.host()); // e.g. PULSAR-WS-EUW2
            let old_name = host.trim_start_matches("PULSAR-WS-"); // e.g. EUW2
            if name == region.name() || name == old_name || name == host {
                return Ok(region);
            }
        }
        if PENDING_REGIONS.contains(&name.as_str()) {
            return Err(RegionError::NoHostYet {
                name: format!("region {name}"),
                region: name,
            });
        }
        Region::from_cluster(s)
    }
}

/// `" https://vcc-NA7.8x8.com/x "` → `"NA7"`.
fn normalise(input: &str) -> String {
    let mut s = input.trim();
    if let Some((_, rest)) = s.split_once("://") {
        s = rest;
    }
    if let Some(end) = s.find(['/', ':', '?']) {
        s = &s[..end];
    }
    let mut s = s.to_ascii_uppercase();
    if let Some(rest) = s.strip_suffix(".8X8.COM") {
        s = rest.to_string();
    }
    if let Some(rest) = s.strip_prefix("VCC-") {
        s = rest.to_string();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_what_users_paste() {
        assert_eq!(normalise(" na7 "), "NA7");
        assert_eq!(normalise("vcc-na7.8x8.com"), "NA7");
        assert_eq!(normalise("https://vcc-EU4.8x8.com/appcore/x?y"), "EU4");
        assert_eq!(normalise("vcc-na7.8x8.com:443"), "NA7");
    }

    #[test]
    fn region_names_and_hosts_parse() {
        for (text, region) in [
            ("UK3", Region::Uk3),
            ("euw2", Region::Uk3),
            ("pulsar-ws-use1.8x8.com", Region::Us1),
            ("wss://pulsar-ws-use1.8x8.com:443/", Region::Us1),
            ("Us2", Region::Us2),
            ("usw2", Region::Us2),
            ("na1", Region::Us1),
        ] {
            assert_eq!(text.parse::<Region>(), Ok(region), "{text}");
        }
        assert!(matches!(
            "sy1".parse::<Region>(),
            Err(RegionError::NoHostYet { region, .. }) if region == "SY1"
        ));
        assert!(matches!(
            "mars1".parse::<Region>(),
            Err(RegionError::Unknown { .. })
        ));
    }

    #[test]
    fn rejects_near_misses() {
        for bad in [
            "", "NA", "NA0", "NA21", "EU3", "EU15", "NA7x", "SB2", "NA-7", "7",
        ] {
            assert!(
                matches!(Region::from_cluster(bad), Err(RegionError::Unknown { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn custom_hosts() {
        let r = Region::Custom("pulsar-ws-apse1.8x8.com".into());
        assert_eq!(r.service_url(), "wss://pulsar-ws-apse1.8x8.com");
        let r = Region::Custom("ws://127.0.0.1:9".into());
        assert_eq!(r.service_url(), "ws://127.0.0.1:9");
        assert_eq!(r.to_string(), "ws://127.0.0.1:9");
    }

    #[test]
    fn errors_convert_to_the_crate_error() {
        let e: crate::Error = RegionError::Unknown { input: "x".into() }.into();
        assert!(matches!(e, crate::Error::Config(_)));
    }
}
