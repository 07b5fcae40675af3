ALTER TABLE contacts RENAME COLUMN phone TO mobile;
