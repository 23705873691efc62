//! Named data sets: MNIST-like IDX sets found on disk, and small real data sets compiled in.
//!
//! [`NamedDataset`]s (Fashion-MNIST, MNIST) are looked for, in order, in `$MLP_DATA_DIR/<name>`,
//! `$MLP_DATA_DIR` itself and `/usr/share/datasets/<name>` (where Debian's
//! `dataset-fashion-mnist` package installs Fashion-MNIST). A directory qualifies when it holds
//! the four IDX files `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each gzipped (`.gz`) or not (the
//! `train-images.idx3-ubyte` spelling is accepted too).
//!
//! `EmbeddedDataset`s (iris, wine, breast cancer; cargo feature `datasets`) are CSV texts built
//! into the binary, with a header row and a string class column; `crates/mlp/data/README.md`
//! gives their source.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::{Dataset, Targets};
use crate::error::{Error, Result};

/// The environment variable naming a directory to look for data sets in.
pub const DATA_DIR_ENV: &str = "MLP_DATA_DIR";

/// The system directory searched last (Debian's `dataset-*` packages install there).
pub const SYSTEM_DATA_DIR: &str = "/usr/share/datasets";

/// An MNIST-like data set read from IDX files on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NamedDataset {
    /// Zalando's Fashion-MNIST: 28x28 grey images of clothing, 10 classes, 60000 + 10000.
    FashionMnist,
    /// The MNIST handwritten digits: 28x28 grey images, 10 classes, 60000 + 10000.
    Mnist,
}

impl NamedDataset {
    /// Every named data set.
    pub const ALL: [NamedDataset; 2] = [NamedDataset::FashionMnist, NamedDataset::Mnist];

    /// The data set's name, as accepted by [`FromStr`] and used as its directory name.
    pub fn name(self) -> &'static str {
        match self {
            NamedDataset::FashionMnist => "fashion-mnist",
            NamedDataset::Mnist => "mnist",
        }
    }

    /// How to get the files when they are missing.
    fn hint(self) -> String {
        let files = "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, \
                     t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (gzipped or not)";
        match self {
            NamedDataset::FashionMnist => format!(
                "install it with `apt-get install dataset-fashion-mnist`, or put the four IDX files \
                 ({files}) in ${DATA_DIR_ENV}/fashion-mnist"
            ),
            NamedDataset::Mnist => format!(
                "no system package ships MNIST; put the four IDX files ({files}) in \
                 ${DATA_DIR_ENV}/mnist"
            ),
        }
    }
}

impl fmt::Display for NamedDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NamedDataset {
    type Err = Error;

    /// Parses `fashion-mnist` or `mnist` (case and `-`/`_` insensitive).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "fashion-mnist" | "fashionmnist" => Ok(NamedDataset::FashionMnist),
            "mnist" => Ok(NamedDataset::Mnist),
            _ => Err(Error::config(
                "dataset",
                format!("unknown data set '{s}'; known data sets are: fashion-mnist, mnist"),
            )),
        }
    }
}

/// Which half of a named data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training split (60000 samples for the MNIST family).
    Train,
    /// The test split (10000 samples for the MNIST family).
    Test,
}

impl Split {
    /// The IDX file name prefix of this split (`train` or `t10k`).
    pub fn file_prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

impl FromStr for Split {
    type Err = Error;

    /// Parses `train` or `test`.
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "train" => Ok(Split::Train),
            "test" | "t10k" => Ok(Split::Test),
            _ => Err(Error::config(
                "split",
                format!("unknown split '{s}'; use train or test"),
            )),
        }
    }
}

/// The file of one split and kind (`images` or `labels`) in `dir`, if present.
fn find_file(dir: &Path, split: Split, kind: &str) -> Option<PathBuf> {
    let rank = if kind == "images" { 3 } else { 1 };
    let prefix = split.file_prefix();
    let stems = [
        format!("{prefix}-{kind}-idx{rank}-ubyte"),
        format!("{prefix}-{kind}.idx{rank}-ubyte"),
    ];
    stems
        .iter()
        .flat_map(|s| [s.clone(), format!("{s}.gz")])
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
}

/// The four files a directory must hold, as `(split, kind)`.
const REQUIRED: [(Split, &str); 4] = [
    (Split::Train, "images"),
    (Split::Train, "labels"),
    (Split::Test, "images"),
    (Split::Test, "labels"),
];

/// The directories searched for `name`, in order, given the value of `$MLP_DATA_DIR` and the
/// system data directory.
fn candidates(name: NamedDataset, env_dir: Option<PathBuf>, system: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = env_dir.filter(|d| !d.as_os_str().is_empty()) {
        dirs.push(d.join(name.name()));
        dirs.push(d);
    }
    dirs.push(system.join(name.name()));
    dirs
}

/// [`resolve_dir`] with the environment and system directory passed in (for tests).
fn resolve_in(name: NamedDataset, env_dir: Option<PathBuf>, system: &Path) -> Result<PathBuf> {
    let mut searched = Vec::new();
    for dir in candidates(name, env_dir, system) {
        let missing: Vec<String> = REQUIRED
            .iter()
            .filter(|(split, kind)| find_file(&dir, *split, kind).is_none())
            .map(|(split, kind)| {
                let rank = if *kind == "images" { 3 } else { 1 };
                format!("{}-{kind}-idx{rank}-ubyte[.gz]", split.file_prefix())
            })
            .collect();
        if missing.is_empty() {
            return Ok(dir);
        }
        if dir.is_dir() {
            searched.push(format!("{} (has no {})", dir.display(), missing.join(", ")));
        } else {
            searched.push(dir.display().to_string());
        }
    }
    Err(Error::DatasetNotFound {
        name: name.name().to_string(),
        searched: searched.join(", "),
        hint: name.hint(),
    })
}

/// The directory holding a named data set's four IDX files.
///
/// Searches `$MLP_DATA_DIR/<name>`, then `$MLP_DATA_DIR`, then `/usr/share/datasets/<name>`, and
/// returns the first that holds all four files.
///
/// # Errors
/// [`Error::DatasetNotFound`] listing the directories searched (and, for those that exist, the
/// files they lack) with a hint on how to get the data.
pub fn resolve_dir(name: NamedDataset) -> Result<PathBuf> {
    resolve_in(
        name,
        std::env::var_os(DATA_DIR_ENV).map(PathBuf::from),
        Path::new(SYSTEM_DATA_DIR),
    )
}

/// Loads one split of a named data set as 10-class classification data, `n x 784` features.
///
/// Pixels are divided by 255 into `[0, 1]` when `scale` is true. `n_classes` is always 10,
/// whatever labels the split happens to contain.
///
/// # Errors
/// Anything [`resolve_dir`] or [`super::idx::load_idx_pair`] reports; [`Error::Format`] when a
/// label is 10 or more.
pub fn load_named(name: NamedDataset, split: Split, scale: bool) -> Result<Dataset> {
    let dir = resolve_dir(name)?;
    load_from_dir(name, &dir, split, scale)
}

/// [`load_named`] from a known directory.
fn load_from_dir(name: NamedDataset, dir: &Path, split: Split, scale: bool) -> Result<Dataset> {
    let path = |kind: &str| {
        find_file(dir, split, kind).ok_or_else(|| Error::DatasetNotFound {
            name: name.name().to_string(),
            searched: dir.display().to_string(),
            hint: name.hint(),
        })
    };
    let (images, labels) = (path("images")?, path("labels")?);
    let mut data = super::idx::load_idx_pair(&images, &labels, scale)?;
    let k = class_names(name).len();
    if let Targets::Classes {
        labels: l,
        n_classes,
    } = &mut data.targets
    {
        if *n_classes > k {
            let bad = l.iter().copied().max().unwrap_or(0);
            return Err(Error::format(
                &labels,
                format!("label {bad} is out of range for {name}, which has {k} classes"),
            ));
        }
        *n_classes = k;
    }
    Ok(data)
}

/// The class names of a named data set, indexed by label.
pub fn class_names(name: NamedDataset) -> Vec<String> {
    match name {
        NamedDataset::FashionMnist => [
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        NamedDataset::Mnist => (0..10).map(|d| d.to_string()).collect(),
    }
}

/// A small real data set compiled into the binary as CSV text (cargo feature `datasets`).
///
/// Each text has a header row of feature names followed by a string class column named
/// [`EmbeddedDataset::target_column`]; fields never contain commas or quotes.
#[cfg(feature = "datasets")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmbeddedDataset {
    /// Fisher's iris: 150 samples, 4 features, 3 species (setosa, versicolor, virginica).
    Iris,
    /// UCI wine recognition: 178 samples, 13 features, 3 cultivars (class_0..class_2).
    Wine,
    /// UCI breast cancer Wisconsin (diagnostic): 569 samples, 30 features, malignant or benign.
    BreastCancer,
}

#[cfg(feature = "datasets")]
impl EmbeddedDataset {
    /// Every embedded data set.
    pub const ALL: [EmbeddedDataset; 3] = [
        EmbeddedDataset::Iris,
        EmbeddedDataset::Wine,
        EmbeddedDataset::BreastCancer,
    ];

    /// The CSV text: a header row, then one row per sample, `\n`-terminated lines.
    pub fn csv_text(self) -> &'static str {
        match self {
            EmbeddedDataset::Iris => include_str!("../../data/iris.csv"),
            EmbeddedDataset::Wine => include_str!("../../data/wine.csv"),
            EmbeddedDataset::BreastCancer => include_str!("../../data/breast_cancer.csv"),
        }
    }

    /// The data set's name (`iris`, `wine`, `breast-cancer`), as accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            EmbeddedDataset::Iris => "iris",
            EmbeddedDataset::Wine => "wine",
            EmbeddedDataset::BreastCancer => "breast-cancer",
        }
    }

    /// The header name of the class column (the last column).
    pub fn target_column(self) -> &'static str {
        match self {
            EmbeddedDataset::Iris => "species",
            EmbeddedDataset::Wine => "class",
            EmbeddedDataset::BreastCancer => "diagnosis",
        }
    }

    /// Number of samples (data rows).
    pub fn n_samples(self) -> usize {
        match self {
            EmbeddedDataset::Iris => 150,
            EmbeddedDataset::Wine => 178,
            EmbeddedDataset::BreastCancer => 569,
        }
    }

    /// Number of feature columns (excluding the class column).
    pub fn n_features(self) -> usize {
        match self {
            EmbeddedDataset::Iris => 4,
            EmbeddedDataset::Wine => 13,
            EmbeddedDataset::BreastCancer => 30,
        }
    }
}

#[cfg(feature = "datasets")]
impl fmt::Display for EmbeddedDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(feature = "datasets")]
impl FromStr for EmbeddedDataset {
    type Err = Error;

    /// Parses `iris`, `wine` or `breast-cancer` (case and `-`/`_` insensitive).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "iris" => Ok(EmbeddedDataset::Iris),
            "wine" => Ok(EmbeddedDataset::Wine),
            "breast-cancer" => Ok(EmbeddedDataset::BreastCancer),
            _ => Err(Error::config(
                "dataset",
                format!(
                    "unknown data set '{s}'; built-in data sets are: iris, wine, breast-cancer"
                ),
            )),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::data::idx::write_idx;

    fn tmp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mlp-ds-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Writes four tiny IDX files (3 train and 2 test images of 2x2) into `dir`.
    fn write_fake(dir: &Path, gzip: bool) {
        std::fs::create_dir_all(dir).unwrap();
        let ext = if gzip { ".gz" } else { "" };
        let f = |n: &str| dir.join(format!("{n}{ext}"));
        write_idx(&f("train-images-idx3-ubyte"), &[3, 2, 2], &[255; 12], gzip).unwrap();
        write_idx(&f("train-labels-idx1-ubyte"), &[3], &[0, 9, 3], gzip).unwrap();
        write_idx(&f("t10k-images-idx3-ubyte"), &[2, 2, 2], &[0; 8], gzip).unwrap();
        write_idx(&f("t10k-labels-idx1-ubyte"), &[2], &[1, 2], gzip).unwrap();
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            "fashion-mnist".parse::<NamedDataset>().unwrap(),
            NamedDataset::FashionMnist
        );
        assert_eq!(
            "Fashion_MNIST".parse::<NamedDataset>().unwrap(),
            NamedDataset::FashionMnist
        );
        assert_eq!(
            "mnist".parse::<NamedDataset>().unwrap(),
            NamedDataset::Mnist
        );
        let err = "cifar".parse::<NamedDataset>().unwrap_err().to_string();
        assert!(err.contains("fashion-mnist, mnist"), "{err}");
        assert_eq!("test".parse::<Split>().unwrap(), Split::Test);
        assert!("valid".parse::<Split>().is_err());
        #[cfg(feature = "datasets")]
        for d in EmbeddedDataset::ALL {
            assert_eq!(d.name().parse::<EmbeddedDataset>().unwrap(), d);
        }
        #[cfg(feature = "datasets")]
        assert_eq!(
            "breast_cancer".parse::<EmbeddedDataset>().unwrap(),
            EmbeddedDataset::BreastCancer
        );
        #[cfg(feature = "datasets")]
        assert!("titanic".parse::<EmbeddedDataset>().is_err());
        for n in NamedDataset::ALL {
            assert_eq!(class_names(n).len(), 10);
        }
        assert_eq!(class_names(NamedDataset::FashionMnist)[9], "Ankle boot");
        assert_eq!(class_names(NamedDataset::Mnist)[3], "3");
    }

    #[test]
    fn missing_data_set_names_the_places_and_the_hint() {
        let root = tmp_dir("missing");
        let partial = root.join("env");
        std::fs::create_dir_all(partial.join("fashion-mnist")).unwrap();
        let err = resolve_in(
            NamedDataset::FashionMnist,
            Some(partial.clone()),
            &root.join("system"),
        )
        .unwrap_err();
        assert!(matches!(err, Error::DatasetNotFound { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("apt-get install dataset-fashion-mnist"),
            "{msg}"
        );
        assert!(msg.contains("$MLP_DATA_DIR/fashion-mnist"), "{msg}");
        assert!(msg.contains("has no train-images-idx3-ubyte[.gz]"), "{msg}");
        assert!(
            msg.contains(
                &root
                    .join("system")
                    .join("fashion-mnist")
                    .display()
                    .to_string()
            ),
            "{msg}"
        );
        let err = resolve_in(NamedDataset::Mnist, None, &root)
            .unwrap_err()
            .to_string();
        assert!(err.contains("$MLP_DATA_DIR/mnist"), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn search_order_and_loading_from_fake_files() {
        let root = tmp_dir("order");
        // Only the system directory has the data (raw files).
        write_fake(&root.join("system").join("mnist"), false);
        let sys = root.join("system");
        assert_eq!(
            resolve_in(NamedDataset::Mnist, None, &sys).unwrap(),
            sys.join("mnist")
        );
        // $MLP_DATA_DIR itself beats the system directory...
        let env = root.join("env");
        write_fake(&env, true);
        assert_eq!(
            resolve_in(NamedDataset::Mnist, Some(env.clone()), &sys).unwrap(),
            env
        );
        // ...and $MLP_DATA_DIR/<name> beats both.
        std::fs::create_dir_all(env.join("mnist")).unwrap();
        write_fake(&env.join("mnist"), true);
        let dir = resolve_in(NamedDataset::Mnist, Some(env.clone()), &sys).unwrap();
        assert_eq!(dir, env.join("mnist"));
        let train = load_from_dir(NamedDataset::Mnist, &dir, Split::Train, true).unwrap();
        assert_eq!((train.len(), train.n_features), (3, 4));
        assert_eq!(train.features, vec![1.0; 12]);
        let test = load_from_dir(NamedDataset::Mnist, &dir, Split::Test, false).unwrap();
        assert_eq!(
            test.targets,
            Targets::Classes {
                labels: vec![1, 2],
                n_classes: 10
            }
        );
        // A label of 10 or more is rejected.
        write_idx(
            &env.join("mnist").join("t10k-labels-idx1-ubyte.gz"),
            &[2],
            &[1, 12],
            true,
        )
        .unwrap();
        let err = load_from_dir(NamedDataset::Mnist, &dir, Split::Test, false).unwrap_err();
        assert!(err.to_string().contains("label 12"), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// Every test that touches `MLP_DATA_DIR` lives here: environment variables are
    /// process-global and tests run in parallel.
    #[test]
    fn env_var_resolution() {
        let root = tmp_dir("env");
        write_fake(&root.join("fashion-mnist"), true);
        let old = std::env::var_os(DATA_DIR_ENV);
        // SAFETY: no other test in this crate reads or writes MLP_DATA_DIR.
        unsafe { std::env::set_var(DATA_DIR_ENV, &root) };
        let dir = resolve_dir(NamedDataset::FashionMnist);
        let test = load_named(NamedDataset::FashionMnist, Split::Test, true);
        // MNIST is absent from the temp dir (and from /usr/share/datasets on a normal machine).
        let mnist = resolve_dir(NamedDataset::Mnist);
        // SAFETY: as above.
        unsafe {
            match &old {
                Some(v) => std::env::set_var(DATA_DIR_ENV, v),
                None => std::env::remove_var(DATA_DIR_ENV),
            }
        }
        assert_eq!(dir.unwrap(), root.join("fashion-mnist"));
        assert_eq!(test.unwrap().len(), 2);
        if !Path::new(SYSTEM_DATA_DIR).join("mnist").exists() {
            let msg = mnist.unwrap_err().to_string();
            assert!(
                msg.contains(&root.join("mnist").display().to_string()),
                "{msg}"
            );
            assert!(msg.contains("put the four IDX files"), "{msg}");
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn system_fashion_mnist_test_split_if_installed() {
        let dir = Path::new(SYSTEM_DATA_DIR).join("fashion-mnist");
        if find_file(&dir, Split::Test, "labels").is_none() {
            // CI installs the data and sets MLP_REQUIRE_DATA=1: there, absent data is a failure,
            // not a silent skip.
            assert!(
                std::env::var_os("MLP_REQUIRE_DATA").is_none_or(|v| v != "1"),
                "MLP_REQUIRE_DATA=1 but {} has no Fashion-MNIST test split",
                dir.display()
            );
            eprintln!(
                "SKIP system_fashion_mnist_test_split_if_installed: {} not installed \
                 (apt-get install dataset-fashion-mnist)",
                dir.display()
            );
            return;
        }
        let d = load_from_dir(NamedDataset::FashionMnist, &dir, Split::Test, true).unwrap();
        assert_eq!(d.len(), 10000);
        assert_eq!(d.n_features, 784);
        assert_eq!(d.features.len(), 10000 * 784);
        assert!(d.features.iter().all(|v| (0.0..=1.0).contains(v)));
        match &d.targets {
            Targets::Classes { labels, n_classes } => {
                assert_eq!(*n_classes, 10);
                assert!(labels.iter().all(|&l| l < 10));
                // The test split is balanced: 1000 per class.
                for c in 0..10 {
                    assert_eq!(labels.iter().filter(|&&l| l == c).count(), 1000);
                }
            }
            other => panic!("expected classes, got {other:?}"),
        }
    }

    #[cfg(feature = "datasets")]
    #[test]
    fn embedded_csvs_have_the_right_shape() {
        for d in EmbeddedDataset::ALL {
            let text = d.csv_text();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), d.n_samples() + 1, "{d}");
            let header: Vec<&str> = lines[0].split(',').collect();
            assert_eq!(header.len(), d.n_features() + 1, "{d}");
            assert_eq!(header.last().copied(), Some(d.target_column()), "{d}");
            for line in &lines[1..] {
                let cells: Vec<&str> = line.split(',').collect();
                assert_eq!(cells.len(), d.n_features() + 1, "{d}: {line}");
                for c in &cells[..d.n_features()] {
                    assert!(c.parse::<f64>().is_ok(), "{d}: {c}");
                }
            }
        }
        assert_eq!(EmbeddedDataset::Iris.csv_text().lines().count(), 151);
        assert_eq!(EmbeddedDataset::Wine.csv_text().lines().count(), 179);
        assert_eq!(
            EmbeddedDataset::BreastCancer.csv_text().lines().count(),
            570
        );
        let classes = |d: EmbeddedDataset| {
            let mut v: Vec<&str> = d
                .csv_text()
                .lines()
                .skip(1)
                .filter_map(|l| l.rsplit(',').next())
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        assert_eq!(
            classes(EmbeddedDataset::Iris),
            ["setosa", "versicolor", "virginica"]
        );
        assert_eq!(
            classes(EmbeddedDataset::Wine),
            ["class_0", "class_1", "class_2"]
        );
        assert_eq!(
            classes(EmbeddedDataset::BreastCancer),
            ["benign", "malignant"]
        );
    }
}
