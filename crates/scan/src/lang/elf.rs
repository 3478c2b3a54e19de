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

    /// The bytes of section `name` (`None` when the file has no such
    /// section or it is empty); an error when its bytes lie outside the file.
    pub(crate) fn get(&self, name: &str) -> Result<Option<&'a [u8]>, String> {
        let Some(section) = self.file.section_by_name(name) else {
            return Ok(None);
        };
        let data = section
            .data()
            .map_err(|e| format!("section {name} cannot be read: {e}"))?;
        Ok(Some(data).filter(|d| !d.is_empty()))
    }

    /// Whether the file has a section table at all: a binary stripped of it
    /// (`sstrip`) hides its sections, and only then is its data searched.
    pub(crate) fn has_section_table(&self) -> bool {
        self.file.sections().next().is_some()
    }
}
