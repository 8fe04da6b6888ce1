// The actions every workflow uses, pinned to the full commit SHA of a release tag (the tag in the
// comment). Verified against the actions' own repositories: both run on the node24 runtime.
// This repository's .github/workflows/*.yml carry the same pins; a unit test keeps them equal.
export const CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1";
export const SETUP_NODE = "actions/setup-node@820762786026740c76f36085b0efc47a31fe5020 # v7.0.0";
export const NODE_VERSION = 24;
/** The monthly access report (.github/workflows/access-report.yml) uploads its files as an artifact; node24. */
export const UPLOAD_ARTIFACT = "actions/upload-artifact@b7c566a772e6b6bfb58ed0dc250532a479d7789f # v6.0.0";
