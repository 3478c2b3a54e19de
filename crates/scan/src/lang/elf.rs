//! ELF section lookup for the binary readers (Go build info, cargo-auditable).

use object::{Object, ObjectSection};

/// The named sections of one ELF file.
pub(crate) struct Sections<'a> {
    file: object::File<'a>,
}

impl<'a> Sections<'a> {
    /// Parses the headers of `data`; an error when it is no well-formed ELF file.
    pub(crate) fn parse(data: &'a [u8]) -> Result<Self, String> {
        let file =
            object::File::parse(data).map_err(|e| format!("not a readable ELF file: {e}"))?;
        Ok(Self { file })
    }

    /// The bytes of section `name`, when the file has it and its bytes lie
    /// inside the file.
    pub(crate) fn get(&self, name: &str) -> Option<&'a [u8]> {
        let section = self.file.section_by_name(name)?;
        section.data().ok().filter(|d| !d.is_empty())
    }
}
